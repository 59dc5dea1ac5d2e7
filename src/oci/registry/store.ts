// The ImageStore of a `docker://HOST/REPO` repository (OCI distribution spec v1.1). Nothing the registry
// says is trusted: manifests are hashed against the digest asked for (and the one a tag resolves to is
// computed from the bytes, not taken from Docker-Content-Digest), blobs are hashed while they stream.
// Referrers use the API where the registry has it and the `sha256-<hex>` tag schema where it does not.
import type { Readable } from 'node:stream';
import { digestBytes, formatDigest, parseDigest } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import { ALL_MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST } from '../media-types.ts';
import type { Descriptor, ImageIndex, ImageStore, StoredManifest } from '../types.ts';
import { RegistryAuth } from './auth.ts';
import { RegistryClient } from './client.ts';
import { readCredentials, type RegistryCredentials } from './credentials.ts';
import { registryEndpoint } from './endpoint.ts';
import { transportError } from './errors.ts';
import {
  createHttpTransport,
  discard,
  type HttpResponse,
  type HttpTransport,
  mediaTypeOf,
  nextLink,
  type RedirectPolicy,
  SYSTEM_CLOCK,
} from '../../net/http/transport.ts';
import type { RetryClock } from '../../net/http/types.ts';
import { parseReferrersIndex, referrersTag, serializeIndex, withReferrer } from './referrers.ts';
import { checkBuffer, startUpload, StreamedUpload, upload } from './upload.ts';
import { verifiedStream } from './verify.ts';

export interface RegistryStoreOptions {
  /** Plain HTTP; refused (E_USAGE) unless the host is loopback (127.0.0.0/8, ::1, localhost). */
  readonly insecure?: boolean;
  /** PEM CA certificate(s) trusted for the registry, in addition to the system roots. */
  readonly caPem?: string;
  /** Wins over `authFiles`. */
  readonly credentials?: RegistryCredentials;
  /** docker config.json / containers auth.json files to look the registry up in, first match wins. */
  readonly authFiles?: readonly string[];
  /** Parallel transfers the copier should run against this store (the store itself is concurrency-safe). Default 4. */
  readonly concurrency?: number;
  /** Idle timeout of every request, in ms. Default 60 000. */
  readonly fetchTimeoutMs?: number;
  /** Time and jitter for retries and the token cache (default the system clock). */
  readonly clock?: RetryClock;
  /** > 0: blobs are uploaded in PATCH chunks of this many bytes; otherwise in one PUT. */
  readonly chunkSize?: number;
  /** Retries of transient failures (429, 502-504, resets). Default 3. */
  readonly retries?: number;
  /** First backoff delay in ms, doubled per retry. Default 500. */
  readonly retryDelayMs?: number;
}

export interface RegistryStore extends ImageStore {
  readonly registry: string;
  readonly repository: string;
  readonly concurrency: number;
  /** With `mountFrom`, a cross-repository mount from that repository (same registry) is tried first. */
  putBlob(desc: Descriptor, data: Readable | Uint8Array, options?: { mountFrom?: string }): Promise<void>;
  /** Links a blob `fromRepository` on the same registry holds; true when the blob is now present. */
  mountBlob(desc: Descriptor, fromRepository: string): Promise<boolean>;
  /** Opens an upload session fed chunk by chunk; nothing is in the repository until its commit(). */
  openUpload(desc: Descriptor): Promise<StreamedUpload>;
  /** Whether the registry serves the referrers API (asked once, then remembered). */
  supportsReferrersApi(subject: string): Promise<boolean>;
}

/** Image spec: registries should accept manifests up to 4 MiB; nothing larger is read into memory. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const ACCEPT_MANIFESTS = ALL_MANIFEST_TYPES.join(', ');
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_PAGES = 10_000;
/** Blobs this large are read with bulkGet; below it, node:http's keep-alive connections win. */
export const BULK_MIN_BYTES = 8 * 1024 * 1024;

function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function positiveInteger(value: number | undefined, name: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new AirlockError(
      'E_USAGE',
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, not ${value}`,
    );
  }
  return value;
}

function checkTag(tag: string, registry: string): void {
  if (!TAG.test(tag))
    throw new AirlockError('E_USAGE', `'${tag}' is not a valid tag for ${registry}`, {
      hint: 'tags are up to 128 of [A-Za-z0-9_.-], not starting with . or -',
    });
}

/** The media type of manifest bytes: the body's own `mediaType`, else the Content-Type, else its shape. */
function manifestMediaType(bytes: Buffer, contentType: string | undefined, subject: string): string {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AirlockError('E_INPUT_MALFORMED', `${subject}: the manifest is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new AirlockError('E_INPUT_MALFORMED', `${subject}: the manifest is not a JSON object`);
  const m = json as { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown };
  if (m.schemaVersion === 1) {
    throw new AirlockError('E_UNSUPPORTED', `${subject}: Docker schema 1 manifests are not supported`, {
      hint: 'push the image again with a current client (schema 2 / OCI)',
    });
  }
  if (typeof m.mediaType === 'string' && m.mediaType) return m.mediaType;
  if (contentType && ALL_MANIFEST_TYPES.includes(contentType)) return contentType;
  return Array.isArray(m.manifests) ? OCI_INDEX : OCI_MANIFEST;
}

class Store implements RegistryStore {
  readonly description: string;
  readonly registry: string;
  readonly repository: string;
  readonly concurrency: number;
  readonly #client: RegistryClient;
  readonly #transport: HttpTransport;
  readonly #chunkSize: number;
  #referrersApi: boolean | undefined;
  readonly #locks = new Map<string, Promise<void>>();

  constructor(init: {
    registry: string;
    repository: string;
    client: RegistryClient;
    transport: HttpTransport;
    concurrency: number;
    chunkSize: number;
  }) {
    this.registry = init.registry;
    this.repository = init.repository;
    this.description = init.client.context.description;
    this.concurrency = init.concurrency;
    this.#client = init.client;
    this.#transport = init.transport;
    this.#chunkSize = init.chunkSize;
  }

  async resolveTag(tag: string | undefined): Promise<Descriptor> {
    // docker's convention: a reference without tag or digest means `latest`.
    const name = tag ?? 'latest';
    checkTag(name, this.registry);
    const action = `resolving tag '${name}'`;
    const res = await this.#client.send(action, {
      method: 'GET',
      url: this.#client.url(`manifests/${name}`),
      scopes: this.#client.pull,
      headers: { accept: ACCEPT_MANIFESTS },
    });
    if (res.status !== 200) throw await this.#client.failure(action, res);
    const bytes = await this.#client.read(action, res, MAX_MANIFEST_BYTES);
    const subject = `${this.description}:${name}`;
    const digest = formatDigest(digestBytes(bytes));
    const reported = header(res, 'docker-content-digest');
    if (reported) {
      // Distribution spec: "if it is used, the client MUST verify the value against the ... data".
      let algorithm;
      try {
        algorithm = parseDigest(reported).algorithm;
      } catch {
        throw this.#client.malformed(action, `Docker-Content-Digest '${reported}' is not a digest`);
      }
      const found = formatDigest(digestBytes(bytes, algorithm));
      if (found !== reported) {
        throw new AirlockError(
          'E_DIGEST_MISMATCH',
          `${subject}: the registry says the manifest is ${reported}, its bytes hash to ${found}`,
          {
            details: { subject, expected: reported, found },
          },
        );
      }
    }
    return {
      mediaType: manifestMediaType(bytes, mediaTypeOf(header(res, 'content-type')), subject),
      digest,
      size: bytes.length,
    };
  }

  async getManifest(digest: string): Promise<StoredManifest> {
    const expected = parseDigest(digest);
    const action = `fetching manifest ${digest}`;
    const res = await this.#client.send(action, {
      method: 'GET',
      url: this.#client.url(`manifests/${digest}`),
      scopes: this.#client.pull,
      headers: { accept: ACCEPT_MANIFESTS },
    });
    if (res.status !== 200) throw await this.#client.failure(action, res);
    const bytes = await this.#client.read(action, res, MAX_MANIFEST_BYTES);
    const subject = `${this.description}@${digest}`;
    const found = formatDigest(digestBytes(bytes, expected.algorithm));
    if (found !== digest) {
      throw new AirlockError(
        'E_DIGEST_MISMATCH',
        `${subject}: the registry served a manifest that hashes to ${found}`,
        {
          details: { subject, expected: digest, found },
        },
      );
    }
    return { bytes, mediaType: manifestMediaType(bytes, mediaTypeOf(header(res, 'content-type')), subject), digest };
  }

  async hasManifest(digest: string): Promise<boolean> {
    parseDigest(digest);
    return this.#exists(
      `checking for manifest ${digest}`,
      `manifests/${digest}`,
      { accept: ACCEPT_MANIFESTS },
      'same-origin',
    );
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    parseDigest(desc.digest);
    return this.#exists(`checking for blob ${desc.digest}`, `blobs/${desc.digest}`, {}, 'any-origin');
  }

  async getBlob(desc: Descriptor): Promise<Readable> {
    parseDigest(desc.digest);
    const action = `fetching blob ${desc.digest}`;
    const res = await this.#client.send(action, {
      method: 'GET',
      url: this.#client.url(`blobs/${desc.digest}`),
      scopes: this.#client.pull,
      redirects: 'any-origin',
      bulk: desc.size >= BULK_MIN_BYTES,
    });
    if (res.status !== 200) throw await this.#client.failure(action, res);
    return verifiedStream(res.body, desc, `${this.description}: blob ${desc.digest}`, (err) =>
      transportError(this.#client.context, action, err),
    );
  }

  async putBlob(desc: Descriptor, data: Readable | Uint8Array, options: { mountFrom?: string } = {}): Promise<void> {
    // A download handed over here waits for the HEAD and the upload session before anything reads it.
    // If its connection fails meanwhile, the error must not crash the process: it stays on the stream
    // (`errored`), and the upload that reads it reports it (as layout putBlob does).
    if (!(data instanceof Uint8Array)) data.on('error', () => undefined);
    const release = () => {
      if (!(data instanceof Uint8Array)) data.destroy();
    };
    try {
      parseDigest(desc.digest);
      if (data instanceof Uint8Array) checkBuffer(desc, data, `${this.description}: blob ${desc.digest} (upload)`);
      if (options.mountFrom !== undefined) registryEndpoint(this.registry, options.mountFrom, false);
      if (await this.hasBlob(desc)) return release();
      const session = await startUpload(this.#client, desc, options.mountFrom);
      if (session.mounted) return release();
      await upload(this.#client, session.location, session.minChunk, desc, data, { chunkSize: this.#chunkSize });
    } catch (err) {
      release();
      throw err;
    }
  }

  openUpload(desc: Descriptor): Promise<StreamedUpload> {
    return StreamedUpload.open(this.#client, desc);
  }

  async mountBlob(desc: Descriptor, fromRepository: string): Promise<boolean> {
    parseDigest(desc.digest);
    registryEndpoint(this.registry, fromRepository, false);
    if (await this.hasBlob(desc)) return true;
    const session = await startUpload(this.#client, desc, fromRepository);
    if (session.mounted) return true;
    // Not mountable: the registry opened an upload session instead, which we do not need.
    const res = await this.#client
      .send('cancelling the upload', { method: 'DELETE', url: session.location, scopes: this.#client.push })
      .catch(() => undefined);
    if (res) discard(res);
    return false;
  }

  async putManifest(manifest: StoredManifest, tag?: string): Promise<void> {
    const expected = parseDigest(manifest.digest);
    const found = formatDigest(digestBytes(manifest.bytes, expected.algorithm));
    if (found !== manifest.digest) {
      throw new AirlockError(
        'E_DIGEST_MISMATCH',
        `${this.description}: manifest to push is labelled ${manifest.digest} but hashes to ${found}`,
      );
    }
    if (tag !== undefined) checkTag(tag, this.registry);
    if (!(await this.hasManifest(manifest.digest)))
      await this.#putManifest(manifest.bytes, manifest.mediaType, manifest.digest, manifest.digest);
    if (tag !== undefined) await this.#putManifest(manifest.bytes, manifest.mediaType, tag, manifest.digest);
  }

  async listTags(): Promise<string[]> {
    const action = 'listing tags';
    const tags: string[] = [];
    let url = this.#client.url('tags/list');
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.#client.send(action, {
        method: 'GET',
        url,
        scopes: this.#client.pull,
        headers: { accept: 'application/json' },
      });
      // A repository nothing was pushed to yet has no tags (distribution answers NAME_UNKNOWN).
      if (res.status === 404 && page === 0) {
        discard(res);
        return [];
      }
      if (res.status !== 200) throw await this.#client.failure(action, res);
      const body = await this.#client.read(action, res, MAX_MANIFEST_BYTES);
      let json: { tags?: unknown };
      try {
        json = JSON.parse(body.toString('utf8')) as typeof json;
      } catch {
        throw this.#client.malformed(action, 'the tag list is not JSON');
      }
      if (
        json.tags !== null &&
        json.tags !== undefined &&
        !(Array.isArray(json.tags) && json.tags.every((t) => typeof t === 'string'))
      ) {
        throw this.#client.malformed(action, 'the tag list has no array of strings under "tags"');
      }
      tags.push(...((json.tags as string[] | null | undefined) ?? []));
      const next = nextLink(res.headers.link);
      if (!next) return tags;
      url = this.#client.follow(next, res.url, action);
    }
    throw this.#client.malformed(action, `more than ${MAX_PAGES} pages of tags`);
  }

  async listReferrers(digest: string): Promise<Descriptor[]> {
    parseDigest(digest);
    if (this.#referrersApi !== false) {
      const listed = await this.#queryReferrersApi(digest);
      if (listed) return listed;
    }
    return [...((await this.#readFallback(digest))?.manifests ?? [])];
  }

  async addReferrer(subject: Descriptor, referrer: Descriptor): Promise<void> {
    parseDigest(referrer.digest);
    // The registry indexes a manifest's `subject` itself when it has the API: nothing to record.
    if (await this.supportsReferrersApi(subject.digest)) return;
    const tag = referrersTag(subject.digest);
    await this.#locked(tag, async () => {
      const next = withReferrer(await this.#readFallback(subject.digest), referrer);
      if (next) await this.#putManifest(serializeIndex(next), OCI_INDEX, tag);
    });
  }

  async supportsReferrersApi(subject: string): Promise<boolean> {
    parseDigest(subject);
    if (this.#referrersApi === undefined) await this.#queryReferrersApi(subject);
    return this.#referrersApi === true;
  }

  async close(): Promise<void> {
    this.#transport.close();
  }

  async #exists(
    action: string,
    path: string,
    headers: Record<string, string>,
    redirects: RedirectPolicy,
  ): Promise<boolean> {
    const res = await this.#client.send(action, {
      method: 'HEAD',
      url: this.#client.url(path),
      scopes: this.#client.pull,
      headers,
      redirects,
    });
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.#client.failure(action, res);
  }

  async #putManifest(bytes: Buffer, mediaType: string, reference: string, digest?: string): Promise<void> {
    const action =
      `pushing manifest ` + `${reference === digest || !digest ? reference : `${digest} as tag '${reference}'`}`;
    const res = await this.#client.send(action, {
      method: 'PUT',
      url: this.#client.url(`manifests/${reference}`),
      scopes: this.#client.push,
      headers: { 'content-type': mediaType },
      body: bytes,
      // Putting the same bytes again is idempotent.
      retry: true,
    });
    if (res.status < 200 || res.status > 299) throw await this.#client.failure(action, res);
    discard(res);
    // Distribution spec v1.1: a registry with the referrers API answers a manifest with a subject with OCI-Subject.
    if (header(res, 'oci-subject')) this.#referrersApi = true;
    const reported = header(res, 'docker-content-digest');
    const computed = digest ?? formatDigest(digestBytes(bytes));
    if (reported && reported.startsWith(`${parseDigest(computed).algorithm}:`) && reported !== computed) {
      throw new AirlockError(
        'E_DIGEST_MISMATCH',
        `${this.description}: ${action}: the registry stored ${reported}, not ${computed}`,
      );
    }
  }

  /**
   * GET /v2/<name>/referrers/<digest> (distribution spec v1.1, "Listing Referrers"). As cosign reads it
   * (design note §3.4), only a 200 with an OCI index Content-Type is the API; anything else (docker-registry
   * 2.8 answers 404 text/plain) means the registry lacks it. Server errors are not guessed about.
   */
  async #queryReferrersApi(digest: string): Promise<Descriptor[] | undefined> {
    const action = `listing referrers of ${digest}`;
    const manifests: Descriptor[] = [];
    let url = this.#client.url(`referrers/${digest}`);
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.#client.send(action, {
        method: 'GET',
        url,
        scopes: this.#client.pull,
        headers: { accept: OCI_INDEX },
      });
      const type = mediaTypeOf(header(res, 'content-type'));
      if (res.status === 200 && type === OCI_INDEX) {
        const body = await this.#client.read(action, res, MAX_MANIFEST_BYTES);
        const index = parseReferrersIndex(body, type, `${this.description}: referrers of ${digest}`);
        this.#referrersApi = true;
        manifests.push(...index.manifests);
        const next = nextLink(res.headers.link);
        if (!next) return manifests;
        url = this.#client.follow(next, res.url, action);
        continue;
      }
      if (page > 0 || res.status >= 500 || res.status === 403 || res.status === 429)
        throw await this.#client.failure(action, res);
      discard(res);
      this.#referrersApi = false;
      return undefined;
    }
    throw this.#client.malformed(action, `more than ${MAX_PAGES} pages of referrers`);
  }

  /** The referrers tag schema's index for `digest`; undefined when the tag does not exist. */
  async #readFallback(digest: string): Promise<ImageIndex | undefined> {
    const tag = referrersTag(digest);
    const action = `reading the referrers tag '${tag}'`;
    const res = await this.#client.send(action, {
      method: 'GET',
      url: this.#client.url(`manifests/${tag}`),
      scopes: this.#client.pull,
      headers: { accept: ACCEPT_MANIFESTS },
    });
    if (res.status === 404) {
      discard(res);
      return undefined;
    }
    if (res.status !== 200) throw await this.#client.failure(action, res);
    const body = await this.#client.read(action, res, MAX_MANIFEST_BYTES);
    return parseReferrersIndex(body, mediaTypeOf(header(res, 'content-type')), `${this.description}:${tag}`);
  }

  /** Runs `fn` after every earlier `fn` for the same key: read-modify-write of one tag, in this process. */
  async #locked(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.#locks.get(key);
    const current = (async () => {
      await previous?.catch(() => undefined);
      await fn();
    })();
    this.#locks.set(key, current);
    try {
      await current;
    } finally {
      if (this.#locks.get(key) === current) this.#locks.delete(key);
    }
  }
}

/** Opens `docker://registry/repository`. Nothing is sent until the first call. */
export async function openRegistryStore(
  ref: { registry: string; repository: string },
  options: RegistryStoreOptions = {},
): Promise<RegistryStore> {
  if (options.insecure && options.caPem) {
    throw new AirlockError(
      'E_USAGE',
      `a CA certificate and plain HTTP were both asked for ${ref.registry}: choose one`,
    );
  }
  const endpoint = registryEndpoint(ref.registry, ref.repository, options.insecure === true);
  const concurrency = positiveInteger(options.concurrency, 'concurrency', 4);
  const chunkSize = positiveInteger(options.chunkSize, 'chunkSize', 0, true);
  const timeoutMs = positiveInteger(options.fetchTimeoutMs, 'fetchTimeoutMs', 60_000);
  const retries = positiveInteger(options.retries, 'retries', 3, true);
  const retryDelayMs = positiveInteger(options.retryDelayMs, 'retryDelayMs', 500, true);
  const credentials =
    options.credentials ?? (await readCredentials(options.authFiles ?? [], ref.registry, ref.repository));
  const clock = options.clock ?? SYSTEM_CLOCK;
  const transport = createHttpTransport({
    ...(options.caPem ? { caPem: options.caPem } : {}),
    timeoutMs,
    retries,
    retryDelayMs,
    clock,
  });
  const context = {
    description: `docker://${ref.registry}/${ref.repository}`,
    registry: ref.registry,
    repository: ref.repository,
  };
  const auth = new RegistryAuth({
    transport,
    context,
    now: () => clock.now(),
    ...(credentials ? { credentials } : {}),
  });
  const client = new RegistryClient({
    origin: endpoint.origin,
    registry: ref.registry,
    repository: ref.repository,
    transport,
    auth,
  });
  return new Store({ registry: ref.registry, repository: ref.repository, client, transport, concurrency, chunkSize });
}
