// Where TUF files come from: a folder (a mirror made by `airlock trust mirror`, or a copy of a
// repository) or an HTTP(S) mirror such as https://tuf-repo-cdn.sigstore.dev. Both layouts are
// accepted: the CDN layout (metadata at the top, targets under targets/) and the source layout
// (metadata/ + targets/). Every read is bounded: a mirror is untrusted until verified.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors.ts';
import { type Exchange, exchange, failureReason } from '../net/http/exchange.ts';
import { HttpFailure } from '../net/http/failure.ts';
import type { HttpTransport } from '../net/http/transport.ts';

/** Upper bounds per kind of file, in the spirit of tuf-js's per-role maximum lengths. */
export const MAX_LENGTH = {
  root: 512 * 1024,
  timestamp: 64 * 1024,
  metadata: 16 * 1024 * 1024,
  target: 32 * 1024 * 1024,
};

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
    throw new AirlockError(
      'E_INPUT_MISSING',
      `${dir} is not a TUF repository: no timestamp.json (nor metadata/timestamp.json)`,
    );
  }
  return {
    description: dir,
    metadata: (name, max) => readBounded(join(metaDir, name), max),
    target: (path, max) => readBounded(join(dir, 'targets', path), max),
  };
}

/** A mirror is given a minute for each file, trickling or not. */
const FILE_DEADLINE_MS = 60_000;

async function fetchBounded(
  transport: HttpTransport | undefined,
  url: string,
  max: number,
): Promise<Uint8Array | undefined> {
  let res: Exchange;
  try {
    res = await exchange(
      { method: 'GET', url: new URL(url), redirects: 'none' },
      { maxBytes: max, deadlineMs: FILE_DEADLINE_MS },
      transport,
    );
  } catch (err) {
    if (err instanceof HttpFailure && err.code === 'ETOOLARGE') throw tooLarge(url, max);
    throw new AirlockError('E_UNAVAILABLE', `cannot fetch ${url}: ${failureReason(err)}`, { cause: err });
  }
  if (res.status === 404 || res.status === 403) return undefined; // S3/GCS answer 403 for a missing object
  if (res.status < 200 || res.status >= 300) throw new AirlockError('E_UNAVAILABLE', `${url}: HTTP ${res.status}`);
  return res.body;
}

export async function httpSource(baseURL: string, transport?: HttpTransport): Promise<TufSource> {
  const base = baseURL.replace(/\/+$/, '');
  const split = (await fetchBounded(transport, `${base}/timestamp.json`, MAX_LENGTH.timestamp)) === undefined;
  const metaBase = split ? `${base}/metadata` : base;
  return {
    description: base,
    metadata: (name, max) => fetchBounded(transport, `${metaBase}/${name}`, max),
    target: (path, max) => fetchBounded(transport, `${base}/targets/${path}`, max),
  };
}

export async function openSource(location: string, transport?: HttpTransport): Promise<TufSource> {
  return /^https?:\/\//.test(location) ? httpSource(location, transport) : directorySource(location);
}
