// Reading a tar package in one pass: header entries into memory, acceptHeaders, then every payload
// entry checked (type, path, listing) before its first byte is written, and hashed as it is written.
// The headers are walked in order; bodies of large entries are read side by side (parallel-bodies.ts).
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
import type { FileHandle } from 'node:fs/promises';
import { ChunkReader, openForReading } from './chunks.ts';
import { PARALLEL_MIN_SIZE, ParallelBodies } from './parallel-bodies.ts';
import { assertPackagePath, malformed, PathTree, printable } from './paths.ts';
import type { Staging } from './staging.ts';
import { type TarEntry, TarReader } from './tar-reader.ts';

const KINDS: Readonly<Record<string, string>> = {
  SymbolicLink: 'a symlink',
  Link: 'a hardlink',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a fifo',
  Directory: 'a folder',
  ContiguousFile: 'a contiguous file',
  GNUDumpDir: 'a GNU dump folder',
  SparseFile: 'a sparse file',
};

function kind(entry: TarEntry): string {
  return KINDS[entry.type] ?? `a '${entry.type}' entry`;
}

function notPlain(entry: TarEntry, label: string): Error {
  const what = entry.type === 'File' ? 'a file entry with a link target' : kind(entry);
  return malformed(`${label}: '${printable(entry.path)}' is ${what}; a package holds only plain files`);
}

/** Reads the leading header entries; returns them and the first entry that is not one. */
async function readHeaders(
  tar: TarReader,
  label: string,
  names: ReadonlySet<string>,
  maxSize: number,
  tree: PathTree,
): Promise<{ headers: Map<string, Buffer>; first: TarEntry | undefined }> {
  const headers = new Map<string, Buffer>();
  let entry = await tar.next();
  while (entry !== undefined && names.has(entry.path)) {
    if (entry.type !== 'File' || entry.linkpath !== '') throw notPlain(entry, label);
    tree.addFile(entry.path, label);
    if (entry.size > maxSize)
      throw malformed(
        `${label}: header '${printable(entry.path)}' is ${entry.size} bytes, more than the ${maxSize} allowed`,
      );
    headers.set(entry.path, await tar.readAll());
    entry = await tar.next();
  }
  return { headers, first: entry };
}

async function withTar<T>(source: string, run: (tar: TarReader, handle: FileHandle) => Promise<T>): Promise<T> {
  const handle = await openForReading(source, false);
  const reader = new ChunkReader(handle, source);
  try {
    return await run(new TarReader(reader, source), handle);
  } finally {
    await reader.close();
  }
}

export function tarHeadersOnly(
  source: string,
  headerNames: readonly string[],
  maxHeaderSize = DEFAULT_MAX_HEADER_SIZE,
): Promise<Map<string, Buffer>> {
  return withTar(
    source,
    async (tar) => (await readHeaders(tar, source, new Set(headerNames), maxHeaderSize, new PathTree())).headers,
  );
}

export function readTarPackage(
  source: string,
  options: ReadPackageOptions,
  staging: Staging,
): Promise<ReadPackageResult> {
  const names = new Set(options.headerNames);
  return withTar(source, async (tar, handle) => {
    const tree = new PathTree();
    const { headers, first } = await readHeaders(
      tar,
      source,
      names,
      options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      tree,
    );
    options.onProgress?.(tar.consumed);
    const pending = await acceptListing(headers, options, source);
    const admitted = new Map<string, PackageFile>();
    const order: string[] = [];
    const bodies = new ParallelBodies(handle, source);
    const progress = () => options.onProgress?.(tar.consumed - bodies.unread);
    const parallelFrom = options.parallelFrom ?? PARALLEL_MIN_SIZE;
    try {
      for (let entry = first; entry !== undefined; entry = await tar.next()) {
        if (entry.type === 'Directory') {
          // Folders are implied by file paths; an explicit entry is only checked, never needed.
          const path = entry.path.replace(/\/$/, '');
          assertPackagePath(path, `${source}: folder entry`);
          tree.addDir(path, source);
          continue;
        }
        if (entry.type !== 'File' || entry.linkpath !== '') throw notPlain(entry, source);
        const path = entry.path;
        assertPackagePath(path, `${source}: entry`);
        if (names.has(path)) {
          throw malformed(
            `${source}: header '${printable(path)}' ` +
              `${headers.has(path) ? 'appears twice' : 'comes after payload entries'}`,
          );
        }
        tree.addFile(path, source);
        const expected = listedHash(pending, path, source);
        assertEntrySize(entry.size, options, source, path);
        pending.delete(path);
        order.push(path);
        if (entry.size >= parallelFrom) {
          const { offset, size } = await tar.detachBody();
          await bodies.start(
            offset,
            size,
            () => tar.truncated(),
            async (pump) => {
              admitted.set(path, await admitFile(staging, path, expected, size, source, options, pump));
            },
            progress,
          );
          continue;
        }
        const file = await admitFile(staging, path, expected, entry.size, source, options, (sink) =>
          tar.body(async (chunk) => {
            await sink(chunk);
            progress();
          }),
        );
        admitted.set(path, file);
      }
      await tar.finish();
      await bodies.finish();
    } catch (err) {
      await bodies.stop();
      throw err;
    }
    assertNoneMissing(pending, source);
    // In the order of the archive, whichever body finished first.
    const files = new Map(order.map((path) => [path, admitted.get(path)!]));
    return { headers, files };
  });
}
