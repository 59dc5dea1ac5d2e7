// Reading a package unpacked as a folder, with the same rules as the tar: header files from the root
// by name, then every other file must be a plain file the manifest lists. Nothing is followed: a
// symlink or special file anywhere refuses the package, and each file is opened with O_NOFOLLOW.
// The bytes hashed are the bytes copied into staging, never a separate read.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { READ_CHUNK_SIZE } from '../../crypto/digest.ts';
import { fromFsError } from '../../errors.ts';
import {
  type PackageFile,
  type ReadPackageOptions,
  type ReadPackageResult,
  DEFAULT_MAX_HEADER_SIZE,
  acceptListing,
  assertEntrySize,
  assertNoneMissing,
  listedHash,
  admitFile,
} from './admit.ts';
import { ChunkReader, openForReading, readBuffers, type ReadBuffers } from './chunks.ts';
import { assertPackagePath, malformed, printable } from './paths.ts';
import type { Staging } from './staging.ts';

const HEADER_READ = 64 * 1024;

function notPlain(label: string, path: string): Error {
  return malformed(
    `${label}: '${printable(path)}' is a symlink or special file; a package holds only plain files and folders`,
  );
}

/** Opens a file that lstat said is plain, and checks the opened one is too (it may have been swapped). */
async function openPlain(
  abs: string,
  label: string,
  path: string,
  buffers: ReadBuffers,
): Promise<{ reader: ChunkReader; size: number }> {
  const handle = await openForReading(abs, true);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notPlain(label, path);
    return { reader: new ChunkReader(handle, abs, buffers), size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The whole of a small file, refused once it passes `maxSize` bytes (it is not trusted to be small). */
async function readBounded(abs: string, label: string, name: string, maxSize: number): Promise<Buffer> {
  const handle = await openForReading(abs, true);
  try {
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(HEADER_READ);
      const { bytesRead } = await handle.read(chunk, 0, HEADER_READ, null).catch((err: unknown) => {
        throw fromFsError(err, abs);
      });
      if (bytesRead === 0) return Buffer.concat(parts);
      size += bytesRead;
      if (size > maxSize)
        throw malformed(`${label}: header '${printable(name)}' is more than the ${maxSize} bytes allowed`);
      parts.push(chunk.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

export async function dirHeadersOnly(
  source: string,
  headerNames: readonly string[],
  maxSize = DEFAULT_MAX_HEADER_SIZE,
): Promise<Map<string, Buffer>> {
  const headers = new Map<string, Buffer>();
  for (const name of new Set(headerNames)) {
    const abs = join(source, name);
    const st = await lstat(abs).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromFsError(err, abs);
    });
    if (st === undefined) continue;
    if (!st.isFile()) throw malformed(`${source}: header '${printable(name)}' is not a plain file`);
    headers.set(name, await readBounded(abs, source, name, maxSize));
  }
  return headers;
}

/** Package paths of the payload files under `root`, sorted; header files at the root are left out. */
async function listPayload(
  root: string,
  label: string,
  headerNames: ReadonlySet<string>,
  under = '',
  out: string[] = [],
): Promise<string[]> {
  const dir = join(root, under);
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw fromFsError(err, dir);
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = under === '' ? entry.name : `${under}/${entry.name}`;
    if (under === '' && headerNames.has(entry.name) && entry.isFile()) continue;
    assertPackagePath(path, `${label}: file`);
    if (entry.isDirectory()) await listPayload(root, label, headerNames, path, out);
    else if (entry.isFile()) out.push(path);
    else throw notPlain(label, path);
  }
  return out;
}

export async function readDirPackage(
  source: string,
  options: ReadPackageOptions,
  staging: Staging,
): Promise<ReadPackageResult> {
  const names = new Set(options.headerNames);
  const headers = await dirHeadersOnly(source, options.headerNames, options.maxHeaderSize);
  const pending = await acceptListing(headers, options, source);
  const listing = await listPayload(source, source, names);
  // A folder can be checked whole before any copy: an unlisted or missing file fails fast.
  const expected = listing.map((path) => listedHash(pending, path, source));
  for (const path of listing) pending.delete(path);
  assertNoneMissing(pending, source);

  const files = new Map<string, PackageFile>();
  let done = 0;
  const buffers = readBuffers(); // one pair for the whole folder, file after file
  for (const [i, path] of listing.entries()) {
    const { reader, size } = await openPlain(join(source, path), source, path, buffers);
    try {
      assertEntrySize(size, options, source, path);
      const file = await admitFile(staging, path, expected[i] ?? '', size, source, options, async (sink) => {
        for (
          let chunk = await reader.next(READ_CHUNK_SIZE);
          chunk !== undefined;
          chunk = await reader.next(READ_CHUNK_SIZE)
        ) {
          await sink(chunk);
          options.onProgress?.(done + reader.consumed);
        }
      });
      files.set(path, file);
      done += file.size;
    } finally {
      await reader.close();
    }
  }
  return { headers, files };
}
