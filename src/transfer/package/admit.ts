// The steps a tar and a folder package share once the headers are in memory: ask the caller to verify
// them and name the payload, then admit each payload file into staging only through a hash of the
// very bytes written there.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { digestBytes } from '../../crypto/digest.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { writeAll } from './chunks.ts';
import { assertPackagePath, isSha256Hex, malformed, printable } from './paths.ts';
import type { Staging } from './staging.ts';

export const DEFAULT_MAX_HEADER_SIZE = 4 * 1024 * 1024;

export interface ReadPackageOptions {
  /** Names allowed among the leading entries (at the root of a folder). */
  readonly headerNames: readonly string[];
  /** Largest header file read into memory (default 4 MiB). */
  readonly maxHeaderSize?: number;
  /** Where accepted payload files are written, at their package paths. Created when missing. */
  readonly stagingDir: string;
  /**
   * Verifies the headers (signatures over the manifest) and returns path → expected sha256 hex of
   * every payload file. Throwing stops the import before a payload byte is written. A header name
   * may be listed too: its in-memory bytes are then checked against the listed hash.
   */
  readonly acceptHeaders: (headers: Map<string, Buffer>) => Promise<Map<string, string>>;
  /** Largest payload file accepted (default: no limit). */
  readonly maxEntrySize?: number;
  /**
   * Payload files of a tar from this many bytes up are read side by side (parallel-bodies.ts);
   * default 8 MiB. Tests lower it to run every check through that path.
   */
  readonly parallelFrom?: number;
  /** Called with the package bytes processed so far. */
  readonly onProgress?: (bytes: number) => void;
  /**
   * May take a payload file instead of staging: asked before the file's first byte with its path,
   * size and listed hash. The bytes are hashed and checked exactly as staged ones are, and `end` is
   * called only when they match; what the sink did with them is the caller's to undo when the read
   * fails (import streams layers into registry upload sessions it commits only after every check).
   */
  readonly divert?: (path: string, size: number, sha256: string) => Promise<PayloadSink | undefined>;
}

export interface PayloadSink {
  /** May keep a copy of `chunk`, never the view itself (its buffer is reused for the next read). */
  write(chunk: Buffer): Promise<void>;
  /** Every byte was written and they hashed to the listed value. */
  end(): Promise<void>;
}

export interface PackageFile {
  readonly sha256: string;
  readonly size: number;
}

export interface ReadPackageResult {
  readonly headers: Map<string, Buffer>;
  /** The payload files accepted: in staging, or given to `divert` (listed header files are not repeated here). */
  readonly files: Map<string, PackageFile>;
}

function mismatch(label: string, path: string, expected: string, found: string): AirlockError {
  return new AirlockError(
    'E_DIGEST_MISMATCH',
    `${label}: ${printable(path)}: expected sha256:${expected}, found sha256:${found}`,
    {
      hint: 'the package was changed after it was signed, or damaged in transit; it was not imported',
      details: { path, expected: `sha256:${expected}`, found: `sha256:${found}` },
    },
  );
}

/**
 * Calls acceptHeaders and checks what it returns: canonical paths, sha256 hex. Listed header files
 * are verified here from memory; the map returned holds the payload files still to be seen.
 */
export async function acceptListing(
  headers: Map<string, Buffer>,
  options: ReadPackageOptions,
  label: string,
): Promise<Map<string, string>> {
  const expected = await options.acceptHeaders(headers);
  const pending = new Map<string, string>();
  for (const [path, hex] of expected) {
    assertPackagePath(path, `${label}: the manifest lists a file whose path`);
    if (!isSha256Hex(hex))
      throw malformed(
        `${label}: the manifest lists '${printable(path)}' with '${printable(hex)}', not a sha256 hex digest`,
      );
    const header = headers.get(path);
    if (header === undefined) {
      pending.set(path, hex);
      continue;
    }
    const found = digestBytes(header).hex;
    if (found !== hex) throw mismatch(label, path, hex, found);
  }
  return pending;
}

/** The expected hash of a payload path; E_INPUT_MALFORMED when the manifest does not list it. */
export function listedHash(pending: ReadonlyMap<string, string>, path: string, label: string): string {
  const hex = pending.get(path);
  if (hex === undefined) {
    throw malformed(
      `${label}: '${printable(path)}' is not listed in the manifest`,
      'a package may only hold files its signed manifest lists',
    );
  }
  return hex;
}

export function assertNoneMissing(pending: ReadonlyMap<string, string>, label: string): void {
  if (pending.size === 0) return;
  const missing = [...pending.keys()].sort();
  const shown = missing.slice(0, 5).map(printable).join(', ');
  throw new AirlockError(
    'E_INPUT_MISSING',
    `${label}: ${missing.length} file(s) listed in the manifest are missing: ${shown}` +
      `${missing.length > 5 ? ', ...' : ''}`,
    {
      hint: 'the package is incomplete; copy it again',
      details: { missing },
    },
  );
}

export function assertEntrySize(size: number, options: ReadPackageOptions, label: string, path: string): void {
  if (options.maxEntrySize !== undefined && size > options.maxEntrySize) {
    throw malformed(`${label}: '${printable(path)}' is ${size} bytes, more than the ${options.maxEntrySize} allowed`);
  }
}

type Pump = (sink: (chunk: Buffer) => Promise<void>) => Promise<void>;

/** Admits one payload file of `size` declared bytes: to the caller's sink when `divert` takes it, else into staging. */
export async function admitFile(
  staging: Staging,
  path: string,
  expected: string,
  size: number,
  label: string,
  options: ReadPackageOptions,
  pump: Pump,
): Promise<PackageFile> {
  const sink = await options.divert?.(path, size, expected);
  return sink
    ? divertFile(sink, path, expected, size, label, pump)
    : stageFile(staging, path, expected, label, options, pump);
}

async function divertFile(
  sink: PayloadSink,
  path: string,
  expected: string,
  declared: number,
  label: string,
  pump: Pump,
): Promise<PackageFile> {
  const hash = createHash('sha256');
  let size = 0;
  await pump(async (chunk) => {
    size += chunk.length;
    // The sink was promised `declared` bytes (a registry session's Content-Length); a folder's file may grow.
    if (size > declared)
      throw malformed(`${label}: '${printable(path)}' grew past the ${declared} bytes it had when it was opened`);
    const written = sink.write(chunk);
    hash.update(chunk);
    await written;
  });
  if (size !== declared)
    throw malformed(`${label}: '${printable(path)}' holds ${size} bytes, not the ${declared} it declared`);
  const found = hash.digest('hex');
  if (found !== expected) throw mismatch(label, path, expected, found);
  await sink.end();
  return { sha256: found, size };
}

/**
 * Creates `path` in staging and pumps the payload bytes through one hash into it. `pump` calls the
 * sink once per chunk; the file is only accepted when the bytes written hash to `expected`.
 */
async function stageFile(
  staging: Staging,
  path: string,
  expected: string,
  label: string,
  options: ReadPackageOptions,
  pump: Pump,
): Promise<PackageFile> {
  const handle = await staging.create(path);
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pump(async (chunk) => {
      size += chunk.length;
      // A folder's file can grow after it was measured; the limit holds for the bytes, not the stat.
      assertEntrySize(size, options, label, path);
      // The write runs on the threadpool while this thread hashes the same (unchanging) bytes.
      const written = writeAll(handle, chunk).catch((err: unknown) =>
        fromFsError(err, join(staging.root, path), 'write'),
      );
      hash.update(chunk);
      const failure = await written;
      if (failure) throw failure;
    });
  } finally {
    await handle.close();
  }
  const found = hash.digest('hex');
  if (found !== expected) throw mismatch(label, path, expected, found);
  return { sha256: found, size };
}
