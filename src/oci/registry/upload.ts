// Blob uploads (distribution spec v1.1, "Pushing blobs"): POST opens a session (or, with `mount` and
// `from`, links a blob another repository already holds: "Mounting a blob from another repository"),
// then either one PUT `?digest=` with the whole blob, or PATCHes of `Content-Range: <start>-<end>`
// chunks and a closing PUT. The bytes stream through a size and digest check on their way out, so a
// wrong blob is never committed; a failed session is cancelled with DELETE, as the spec asks.
import type { Readable, Writable } from 'node:stream';
import { digestBytes, formatDigest, isVerifiedStreamFor, parseDigest } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import type { Descriptor } from '../types.ts';
import { repositoryScope } from './auth.ts';
import type { RegistryClient } from './client.ts';
import { discard, type HttpResponse } from '../../net/http/transport.ts';
import { verifiedStream } from './verify.ts';

export interface UploadOptions {
  /** > 0: upload in PATCH chunks of this many bytes (at least the registry's OCI-Chunk-Min-Length). */
  readonly chunkSize?: number;
  /** Try a cross-repository mount from this repository on the same registry first. */
  readonly mountFrom?: string;
}

type Session =
  { readonly mounted: true } | { readonly mounted: false; readonly location: URL; readonly minChunk: number };

function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Opens an upload session, or mounts the blob and needs none. */
export async function startUpload(client: RegistryClient, desc: Descriptor, mountFrom?: string): Promise<Session> {
  const action = mountFrom
    ? `mounting blob ${desc.digest} from ${mountFrom}`
    : `starting the upload of blob ${desc.digest}`;
  const res = await client.send(action, {
    method: 'POST',
    url: client.url('blobs/uploads/', mountFrom ? { mount: desc.digest, from: mountFrom } : {}),
    scopes: mountFrom ? [...client.push, repositoryScope(mountFrom, 'pull')] : client.push,
    // Each POST opens a fresh session, so repeating one after a 503 is harmless.
    retry: true,
  });
  if (res.status === 201 && mountFrom) {
    discard(res);
    return { mounted: true };
  }
  // A registry that cannot mount (or does not know the blob there) opens an ordinary session: 202.
  if (res.status !== 202) throw await client.failure(action, res);
  discard(res);
  const location = header(res, 'location');
  if (!location) throw client.malformed(action, 'the registry sent 202 without a Location');
  const minChunk = Number(header(res, 'oci-chunk-min-length') ?? 0);
  return {
    mounted: false,
    location: client.follow(location, res.url, action),
    minChunk: Number.isSafeInteger(minChunk) && minChunk > 0 ? minChunk : 0,
  };
}

/** Splits a byte stream into chunks of exactly `size` bytes (the last may be shorter). */
async function* chunksOf(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const piece of source) {
    let rest = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (rest.length > 0) {
      const take = Math.min(size - length, rest.length);
      pending.push(rest.subarray(0, take));
      length += take;
      rest = rest.subarray(take);
      if (length === size) {
        yield Buffer.concat(pending, length);
        pending = [];
        length = 0;
      }
    }
  }
  if (length > 0) yield Buffer.concat(pending, length);
}

function checkCommitted(client: RegistryClient, res: HttpResponse, desc: Descriptor, action: string): void {
  // The spec lets a registry report its canonical digest; with the same algorithm it must be ours.
  const reported = header(res, 'docker-content-digest');
  if (reported && reported.startsWith(`${parseDigest(desc.digest).algorithm}:`) && reported !== desc.digest) {
    throw new AirlockError(
      'E_DIGEST_MISMATCH',
      `${client.context.description}: ${action}: the registry stored ${reported}, not ${desc.digest}`,
    );
  }
}

async function finish(
  client: RegistryClient,
  location: URL,
  desc: Descriptor,
  body: Uint8Array | Readable | undefined,
  action: string,
): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', desc.digest);
  let bodyError: unknown;
  if (body && !(body instanceof Uint8Array)) body.on('error', (err) => (bodyError ??= err));
  let res: HttpResponse;
  try {
    res = await client.send(action, {
      method: 'PUT',
      url,
      scopes: client.push,
      headers: { 'content-type': 'application/octet-stream', ...(body ? { 'content-length': String(desc.size) } : {}) },
      ...(body ? { body } : {}),
      retry: false,
    });
  } catch (err) {
    // Our own verification failing is the news, not the aborted request it caused.
    throw bodyError ?? err;
  }
  if (bodyError) {
    discard(res);
    throw bodyError;
  }
  if (res.status !== 201) throw await client.failure(action, res);
  discard(res);
  checkCommitted(client, res, desc, action);
}

/**
 * Checks a PATCH answer: 202, and the bytes held so far (Range, when sent) end at `end`. Returns the
 * Location the next request must use ("Each consecutive chunk upload SHOULD use the <location>
 * provided in the response"; distribution signs its session state into it).
 */
async function acceptPatch(
  client: RegistryClient,
  res: HttpResponse,
  location: URL,
  end: number,
  action: string,
): Promise<URL> {
  if (res.status !== 202) throw await client.failure(action, res);
  discard(res);
  const next = header(res, 'location');
  const range = header(res, 'range');
  const held = range ? /^(?:bytes=)?0-(\d+)$/.exec(range)?.[1] : undefined;
  if (range && Number(held) !== end)
    throw client.malformed(action, `after bytes 0-${end} the registry reports Range ${range}`);
  return next ? client.follow(next, res.url, action) : location;
}

/** PATCHes the chunks in order; `session.location` follows the registry's latest Location. */
async function patchChunks(
  client: RegistryClient,
  session: { location: URL },
  chunks: AsyncIterable<Buffer>,
  action: string,
): Promise<void> {
  let offset = 0;
  for await (const chunk of chunks) {
    const end = offset + chunk.length - 1;
    const res = await client.send(action, {
      method: 'PATCH',
      url: session.location,
      scopes: client.push,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${end}` },
      body: chunk,
      retry: false,
    });
    session.location = await acceptPatch(client, res, session.location, end, `${action} (chunk at ${offset})`);
    offset = end + 1;
  }
}

async function cancel(client: RegistryClient, location: URL): Promise<void> {
  try {
    const res = await client.send('cancelling the upload', { method: 'DELETE', url: location, scopes: client.push });
    discard(res);
  } catch {
    // Best effort: the registry expires abandoned sessions anyway.
  }
}

/** A buffer can be checked whole before a single byte is sent (a stream is checked as it goes). */
export function checkBuffer(desc: Descriptor, data: Uint8Array, subject: string): void {
  const found = formatDigest(digestBytes(data, parseDigest(desc.digest).algorithm));
  if (found !== desc.digest || data.byteLength !== desc.size) {
    throw new AirlockError(
      'E_DIGEST_MISMATCH',
      `${subject}: expected ${desc.digest} (${desc.size} bytes), found ${found} (${data.byteLength} bytes)`,
      {
        details: { subject, expected: desc.digest, found },
      },
    );
  }
}

/** Uploads `data` (already known absent; a buffer already passed checkBuffer) into a session opened by startUpload. */
export async function upload(
  client: RegistryClient,
  location: URL,
  minChunk: number,
  desc: Descriptor,
  data: Uint8Array | Readable,
  options: UploadOptions,
): Promise<void> {
  const action = `uploading blob ${desc.digest}`;
  const subject = `${client.context.description}: blob ${desc.digest} (upload)`;
  // A stream that already enforces this digest (a verified download or layout read) is not hashed again.
  const body =
    data instanceof Uint8Array || isVerifiedStreamFor(data, desc.digest) ? data : verifiedStream(data, desc, subject);
  const session = { location };
  try {
    const chunkSize = options.chunkSize ?? 0;
    if (chunkSize > 0) {
      const chunks = chunksOf(
        body instanceof Uint8Array ? [body] : (body as AsyncIterable<Uint8Array>),
        Math.max(chunkSize, minChunk),
      );
      await patchChunks(client, session, chunks, action);
      await finish(client, session.location, desc, undefined, action);
    } else {
      await finish(client, session.location, desc, body, action);
    }
  } catch (err) {
    if (!(body instanceof Uint8Array)) body.destroy();
    await cancel(client, session.location);
    throw err;
  }
}

/**
 * A blob fed chunk by chunk into one upload session (a single PATCH of the whole blob) and committed
 * later, or never. Until `commit`, the registry holds the bytes only in its upload area: a GET or
 * HEAD by digest does not find them, and `cancel` (or the registry's purge of stale uploads) drops
 * them. Import streams layers this way while it is still checking the package, and commits only
 * once every check has passed.
 */
export class StreamedUpload {
  readonly desc: Descriptor;
  readonly #client: RegistryClient;
  readonly #sent: Promise<HttpResponse | undefined>;
  /** The PATCH request once the transport made it; undefined when the send failed before that. */
  readonly #request: Promise<Writable | undefined>;
  readonly #action: string;
  #location: URL;
  /** Why no more bytes can go: a transport failure, an answer before the last byte, a cancel. */
  #failure: unknown;
  #answered: HttpResponse | undefined;
  /** Bytes handed to the request so far. */
  #written = 0;
  #state: 'writing' | 'ended' | 'written' | 'committed' | 'cancelled' = 'writing';

  private constructor(client: RegistryClient, desc: Descriptor, location: URL) {
    this.desc = desc;
    this.#client = client;
    this.#location = location;
    this.#action = `uploading blob ${desc.digest}`;
    let made!: (request: Writable) => void;
    const requestMade = new Promise<Writable>((resolve) => (made = resolve));
    this.#sent = client
      .send(this.#action, {
        method: 'PATCH',
        url: location,
        scopes: client.push,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(desc.size),
          'content-range': `0-${desc.size - 1}`,
        },
        body: (request) => made(request),
        retry: false,
      })
      .then(
        (res) => {
          this.#answered = res;
          return res;
        },
        (err: unknown) => {
          this.#failure ??= err;
          return undefined;
        },
      );
    this.#request = Promise.race([requestMade, this.#sent.then(() => undefined)]);
  }

  /** Opens the session; `desc.size` must be > 0 (a PATCH range cannot be empty). */
  static async open(client: RegistryClient, desc: Descriptor): Promise<StreamedUpload> {
    parseDigest(desc.digest);
    if (!(desc.size > 0))
      throw new AirlockError(
        'E_INTERNAL',
        `a streamed upload needs a non-empty blob (${desc.digest} is ${desc.size} bytes)`,
      );
    const session = await startUpload(client, desc);
    if (session.mounted) throw new AirlockError('E_INTERNAL', 'a plain upload session was mounted');
    return new StreamedUpload(client, desc, session.location);
  }

  /**
   * Throws when the bytes can no longer go anywhere; a registry that answered before the last byte is refusing them.
   */
  async #check(): Promise<void> {
    if (this.#failure) throw this.#failure;
    // An answer once every byte is out is the normal end (end() reads it); before that, a refusal.
    if (this.#answered && this.#state === 'writing' && this.#written < this.desc.size) {
      const res = this.#answered;
      this.#failure =
        res.status === 202
          ? this.#client.malformed(this.#action, 'the registry accepted the upload before all of its bytes were sent')
          : await this.#client.failure(this.#action, res);
      throw this.#failure;
    }
  }

  /**
   * Sends `chunk` and resolves once the socket has taken it: the caller may then reuse its buffer
   * (no copy is made). One chunk in flight per upload is the back-pressure.
   */
  async write(chunk: Uint8Array): Promise<void> {
    await this.#check();
    const request = await this.#request;
    if (!request) throw this.#failure;
    this.#written += chunk.byteLength;
    const taken = await new Promise<boolean>((resolve) => {
      // A failed write means the request failed: what the registry said, or the transport error,
      // comes with #sent, in the registry client's terms.
      request.write(chunk, (err) => (err ? void this.#sent.then(() => resolve(false)) : resolve(true)));
      // A request that ends first (answered early, failed, cancelled) may never call back; its bytes
      // no longer matter: such an upload is never committed.
      void this.#sent.then(() => resolve(false));
    });
    await this.#check();
    if (!taken && this.#written < this.desc.size) {
      throw (this.#failure ??= this.#client.malformed(
        this.#action,
        'the upload ended before all of its bytes were sent',
      ));
    }
  }

  /** Ends the bytes and waits for the registry to hold all of them (still uncommitted). */
  async end(): Promise<void> {
    await this.#check();
    this.#state = 'ended';
    (await this.#request)?.end();
    const res = await this.#sent;
    if (!res) throw this.#failure;
    this.#location = await acceptPatch(this.#client, res, this.#location, this.desc.size - 1, this.#action);
    this.#state = 'written';
  }

  /** Makes the blob part of the repository; the registry checks the bytes against the digest. */
  async commit(): Promise<void> {
    if (this.#state !== 'written')
      throw new AirlockError('E_INTERNAL', `blob ${this.desc.digest}: commit of an upload that is ${this.#state}`);
    await finish(this.#client, this.#location, this.desc, undefined, `committing blob ${this.desc.digest}`);
    this.#state = 'committed';
  }

  /** Drops the session and its bytes (best effort: the registry purges abandoned uploads anyway). */
  async cancel(): Promise<void> {
    if (this.#state === 'committed' || this.#state === 'cancelled') return;
    this.#state = 'cancelled';
    this.#failure ??= new AirlockError('E_INTERNAL', `the upload of blob ${this.desc.digest} was cancelled`);
    // Destroyed, so the transport aborts the PATCH instead of waiting for bytes that never come; a
    // request still being made (a token fetch) is destroyed as soon as it is.
    void this.#request.then((request) => request?.destroy(new AirlockError('E_INTERNAL', 'upload cancelled')));
    const res = await this.#sent;
    if (res) discard(res);
    await cancel(this.#client, this.#location);
  }
}
