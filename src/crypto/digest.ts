// The one streaming hash utility of airlock. Digests are written `sha256:<hex>` (OCI style) everywhere.
// Files are read with large reused buffers and two reads in flight, so the disk read of chunk n+1
// overlaps the hashing of chunk n; hashing itself is OpenSSL through node:crypto.
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { AirlockError, fromFsError } from '../errors.ts';
import { bounded } from '../text.ts';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** 4 MiB: large enough that per-call overhead vanishes next to SHA-256 itself. */
export const READ_CHUNK_SIZE = 4 * 1024 * 1024;

export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/**
 * Parses `sha256:<64 hex>` / `sha384:<96 hex>` / `sha512:<128 hex>`; E_INPUT_MALFORMED otherwise.
 * Hex digits are read in either case and kept in lowercase, the one spelling airlock writes and compares.
 */
export function parseDigest(text: string): Digest {
  const m = /^(sha256|sha384|sha512):([0-9a-fA-F]+)$/.exec(text);
  const algorithm = m?.[1] as DigestAlgorithm | undefined;
  const hex = m?.[2]?.toLowerCase();
  if (!algorithm || !hex || hex.length !== HEX_LENGTH[algorithm]) {
    throw new AirlockError('E_INPUT_MALFORMED', `not a digest: '${bounded(text, 80)}'`, {
      hint: 'write digests as sha256:<64 hex digits> or sha512:<128 hex digits>',
    });
  }
  return { algorithm, hex };
}

/** True for `sha256:<64 hex>` and `sha512:<128 hex>`, hex digits in either case (parseDigest lowercases them). */
export function isDigestString(text: string): boolean {
  return /^(?:sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$/.test(text);
}

export function digestBytes(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return { algorithm, hex: createHash(algorithm).update(data).digest('hex') };
}

export interface FileDigestOptions {
  algorithm?: DigestAlgorithm;
  /** When given, the computed digest must equal it (E_DIGEST_MISMATCH otherwise). */
  expected?: Digest;
  /** Called with the byte count after each chunk (progress bars). */
  onProgress?: (bytesRead: number) => void;
  /** Extra consumers of the same bytes, e.g. a second hash or a signature verifier. */
  alsoUpdate?: ReadonlyArray<{ update(chunk: Uint8Array): unknown }>;
}

export interface FileDigest extends Digest {
  readonly size: number;
}

/**
 * Reads `path` from start to end once, handing each chunk to `onChunk` (valid only during the call),
 * and returns the byte count. Any readable path works the same: a regular file, a FIFO, a device, a
 * shell's `<(...)`; nothing is held beyond the two read buffers.
 */
async function forEachChunk(path: string, onChunk: (chunk: Buffer, total: number) => void): Promise<number> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fromFsError(err, path);
  }
  let size = 0;
  try {
    // A small regular file is read in one call into buffers its size; anything else in 4 MiB ones.
    const st = await handle.stat();
    const length = st.isFile() ? Math.min(READ_CHUNK_SIZE, st.size + 1) : READ_CHUNK_SIZE;
    const buffers = [Buffer.allocUnsafe(length), Buffer.allocUnsafe(length)] as const;
    let which = 0;
    let pending = handle.read(buffers[0], 0, length, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const current = buffers[which as 0 | 1];
      which ^= 1;
      // Start the next read before hashing: the threadpool reads while this thread hashes. The next
      // read goes into the other buffer, so `current` is not overwritten while hashed.
      pending = handle.read(buffers[which as 0 | 1], 0, length, null);
      size += bytesRead;
      onChunk(bytesRead === length ? current : current.subarray(0, bytesRead), size);
    }
  } catch (err) {
    throw err instanceof AirlockError ? err : fromFsError(err, path);
  } finally {
    await handle.close();
  }
  return size;
}

/** Hashes a file in one streaming pass; never loads it whole. */
export async function digestFile(path: string, options: FileDigestOptions = {}): Promise<FileDigest> {
  const algorithm = options.expected?.algorithm ?? options.algorithm ?? 'sha256';
  const hash = createHash(algorithm);
  const size = await forEachChunk(path, (chunk, total) => {
    hash.update(chunk);
    for (const consumer of options.alsoUpdate ?? []) consumer.update(chunk);
    options.onProgress?.(total);
  });
  const result = { algorithm, hex: hash.digest('hex'), size };
  if (options.expected) assertDigestEqual(options.expected, result, path);
  return result;
}

export interface InputDigests {
  readonly size: number;
  readonly digests: ReadonlyMap<DigestAlgorithm, Digest>;
  /** The whole input, when it is at most `keepUpTo` bytes; otherwise undefined: it was never held whole. */
  readonly bytes: Buffer | undefined;
}

/**
 * Reads an input once — which is all a FIFO or a `<(...)` allows — hashing it with every algorithm
 * asked for, and keeping its bytes only while they stay within `keepUpTo` (a caller that needs the
 * bytes of small inputs). Memory stays bounded whatever the input's size.
 */
export async function digestInput(
  path: string,
  options: {
    readonly algorithms: readonly DigestAlgorithm[];
    readonly keepUpTo?: number;
    readonly onProgress?: (bytesRead: number) => void;
  },
): Promise<InputDigests> {
  const hashes = [...new Set(options.algorithms)].map((algorithm) => ({ algorithm, hash: createHash(algorithm) }));
  const keepUpTo = options.keepUpTo ?? 0;
  let kept: Buffer[] | undefined = keepUpTo > 0 ? [] : undefined;
  const size = await forEachChunk(path, (chunk, total) => {
    for (const h of hashes) h.hash.update(chunk);
    if (kept && total <= keepUpTo) kept.push(Buffer.from(chunk));
    else kept = undefined;
    options.onProgress?.(total);
  });
  const digests = new Map(
    hashes.map(({ algorithm, hash }): [DigestAlgorithm, Digest] => [algorithm, { algorithm, hex: hash.digest('hex') }]),
  );
  return { size, digests, bytes: kept ? Buffer.concat(kept, size) : undefined };
}

export function assertDigestEqual(expected: Digest, actual: Digest, subject: string): void {
  if (expected.algorithm !== actual.algorithm || expected.hex !== actual.hex) {
    throw new AirlockError(
      'E_DIGEST_MISMATCH',
      `${subject}: expected ${formatDigest(expected)}, found ${formatDigest(actual)}`,
      { details: { subject, expected: formatDigest(expected), found: formatDigest(actual) } },
    );
  }
}

/**
 * A pass-through stream that hashes what flows through it and, when `expected` is set, fails the
 * stream at its end if the bytes do not match (so a consumer never commits unverified data).
 */
export class DigestStream extends Transform {
  readonly algorithm: DigestAlgorithm;
  /** `sha256:<hex>` this stream enforces at its end, if any. */
  readonly expectedDigest: string | undefined;
  #hash: Hash;
  #size = 0;
  #result: FileDigest | undefined;
  readonly #expected: Digest | undefined;
  readonly #expectedSize: number | undefined;
  readonly #subject: string;

  /**
   * `expectedSize` fails the stream as soon as one byte too many arrives (an endless body from a
   * hostile server is cut off) and at the end when bytes are missing.
   */
  constructor(
    options: { algorithm?: DigestAlgorithm; expected?: Digest; expectedSize?: number; subject?: string } = {},
  ) {
    // Room for a few MiB in flight: a slow disk should not stall a fast socket chunk by chunk.
    super({ highWaterMark: READ_CHUNK_SIZE });
    this.algorithm = options.expected?.algorithm ?? options.algorithm ?? 'sha256';
    this.#hash = createHash(this.algorithm);
    this.#expected = options.expected;
    this.expectedDigest = options.expected ? formatDigest(options.expected) : undefined;
    this.#expectedSize = options.expectedSize;
    this.#subject = options.subject ?? 'stream';
  }

  #sizeError(found: string): AirlockError {
    return new AirlockError(
      'E_DIGEST_MISMATCH',
      `${this.#subject}: expected ${this.#expectedSize} bytes, found ${found}`,
      {
        details: { subject: this.#subject, expectedSize: this.#expectedSize },
      },
    );
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#expectedSize !== undefined && this.#size > this.#expectedSize) {
      done(this.#sizeError('more'));
      return;
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.#result = { algorithm: this.algorithm, hex: this.#hash.digest('hex'), size: this.#size };
    if (this.#expectedSize !== undefined && this.#size !== this.#expectedSize) {
      done(this.#sizeError(String(this.#size)));
      return;
    }
    try {
      if (this.#expected) assertDigestEqual(this.#expected, this.#result, this.#subject);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  /** The digest, available once the stream has ended. */
  get digest(): FileDigest {
    if (!this.#result) throw new Error('DigestStream: digest read before the stream ended');
    return this.#result;
  }
}

/**
 * True when `data` is a stream that already fails unless its bytes hash to `digest`: a consumer can
 * then write it without hashing the same bytes a second time (copies hash each blob once).
 */
export function isVerifiedStreamFor(data: unknown, digest: string): data is DigestStream {
  return data instanceof DigestStream && data.expectedDigest === digest;
}
