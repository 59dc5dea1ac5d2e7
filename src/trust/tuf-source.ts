// Where TUF files come from: a folder (a mirror made by `airlock trust mirror`, or a copy of a
// repository) or an HTTP(S) mirror such as https://tuf-repo-cdn.sigstore.dev. Both layouts are
// accepted: the CDN layout (metadata at the top, targets under targets/) and the source layout
// (metadata/ + targets/). Every read is bounded: a mirror is untrusted until verified.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors.ts';

/** Upper bounds per kind of file, in the spirit of tuf-js's per-role maximum lengths. */
export const MAX_LENGTH = { root: 512 * 1024, timestamp: 64 * 1024, metadata: 16 * 1024 * 1024, target: 32 * 1024 * 1024 };

export interface TufSource {
  /** e.g. "https://tuf-repo-cdn.sigstore.dev" or "/media/usb/mirror" (for records and messages). */
  readonly description: string;
  /** A metadata file by name (`15.root.json`, `timestamp.json`); undefined when it does not exist. */
  metadata(name: string, maxLength: number): Promise<Uint8Array | undefined>;
  /** A target file by its path under targets/ (`<sha256>.trusted_root.json`). */
  target(path: string, maxLength: number): Promise<Uint8Array | undefined>;
}

/**
 * A file longer than the bound it was read with. The caller says what that means: past a per-kind
 * bound, not a TUF file (malformed input); past the length signed metadata records, a verdict.
 */
export class TufFileTooLarge extends AirlockError {
  readonly limit: number;
  constructor(what: string, limit: number) {
    super('E_INPUT_MALFORMED', `${what} is larger than ${limit} bytes: not a TUF file`);
    this.limit = limit;
  }
}

function tooLarge(what: string, max: number): AirlockError {
  return new TufFileTooLarge(what, max);
}

async function readBounded(path: string, max: number): Promise<Uint8Array | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return undefined;
    if (s.size > max) throw tooLarge(path, max);
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof AirlockError) throw err;
    throw new AirlockError('E_IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function directorySource(dir: string): Promise<TufSource> {
  const split = (await readBounded(join(dir, 'metadata', 'timestamp.json'), MAX_LENGTH.timestamp)) !== undefined;
  const metaDir = split ? join(dir, 'metadata') : dir;
  if (!split && (await readBounded(join(dir, 'timestamp.json'), MAX_LENGTH.timestamp)) === undefined) {
    throw new AirlockError('E_INPUT_MISSING', `${dir} is not a TUF repository: no timestamp.json (nor metadata/timestamp.json)`);
  }
  return {
    description: dir,
    metadata: (name, max) => readBounded(join(metaDir, name), max),
    target: (path, max) => readBounded(join(dir, 'targets', path), max),
  };
}

async function fetchBounded(fetchImpl: typeof fetch, url: string, max: number): Promise<Uint8Array | undefined> {
  let res: Response;
  try {
    res = await fetchImpl(url, { redirect: 'error', signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new AirlockError('E_UNAVAILABLE', `cannot fetch ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 404 || res.status === 403) return undefined; // S3/GCS answer 403 for a missing object
  if (!res.ok) throw new AirlockError('E_UNAVAILABLE', `${url}: HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) throw tooLarge(url, max);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body ?? []) {
    total += chunk.length;
    if (total > max) throw tooLarge(url, max);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function httpSource(baseURL: string, fetchImpl: typeof fetch = fetch): Promise<TufSource> {
  const base = baseURL.replace(/\/+$/, '');
  const split = (await fetchBounded(fetchImpl, `${base}/timestamp.json`, MAX_LENGTH.timestamp)) === undefined;
  const metaBase = split ? `${base}/metadata` : base;
  return {
    description: base,
    metadata: (name, max) => fetchBounded(fetchImpl, `${metaBase}/${name}`, max),
    target: (path, max) => fetchBounded(fetchImpl, `${base}/targets/${path}`, max),
  };
}

export async function openSource(location: string, fetchImpl?: typeof fetch): Promise<TufSource> {
  return /^https?:\/\//.test(location) ? httpSource(location, fetchImpl) : directorySource(location);
}
