// Writing a transfer package: a tar whose entries come in exactly the order given (headers first, so
// an importer can verify them before it reads a payload byte), or the same files as a folder.
// The tar is deterministic: file entries only, mode 0644, uid/gid 0, no user or group names, one
// fixed mtime; ustar, with a pax record only for what ustar cannot hold (long or non-ASCII paths,
// sizes of 8 GiB and more). Files are streamed from disk; the package is never held in memory.
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, type FileHandle, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Header, type HeaderData, Pax } from 'tar';
import { READ_CHUNK_SIZE } from '../../crypto/digest.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { processAlive } from '../../files/process-alive.ts';
import { assertWritable } from '../../oci/archive/archive-files.ts';
import { ChunkReader, openForReading, readBuffers, writeAll } from './chunks.ts';
import { assertPackagePath, PathTree, printable } from './paths.ts';

export interface PackageEntry {
  /** Path inside the package. */
  readonly path: string;
  /** File on disk whose bytes are the entry (exactly one of file and data). */
  readonly file?: string;
  readonly data?: Uint8Array;
  /**
   * When set, the bytes written must hash to this (hex sha256), checked while they stream into the tar:
   * content-addressed files linked rather than copied are verified in the same single read.
   */
  readonly sha256?: string;
}

export interface WritePackageOptions {
  readonly format: 'tar' | 'dir';
  /** Replace an existing `out`; otherwise E_OUTPUT_EXISTS. */
  readonly overwrite?: boolean;
  /** Called with the entry bytes written so far. */
  readonly onProgress?: (bytes: number) => void;
  /** mtime of every tar entry (default: the epoch), so equal contents give equal bytes. */
  readonly mtime?: Date;
  /**
   * Runs once the package is complete under its temporary name, just before it takes its place: pack
   * records its decision and the channel's next state here, so the package never exists without them.
   * A failure here leaves `out` as it was.
   */
  readonly beforePlace?: () => Promise<void>;
}

const BLOCK = 512;
/** The largest size a ustar size field holds in octal; beyond it the size goes into pax. */
const MAX_USTAR_SIZE = 0o77777777777;
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function fields(path: string, size: number, mtime: Date, type: HeaderData['type']): HeaderData {
  return { path, mode: 0o644, uid: 0, gid: 0, size, mtime, type, uname: '', gname: '', devmaj: 0, devmin: 0 };
}

/** The header block(s) of one file entry: a pax record first when ustar cannot say it all. */
function entryHeader(path: string, size: number, mtime: Date): Buffer {
  const block = Buffer.alloc(BLOCK);
  if (!new Header(fields(path, size, mtime, 'File')).encode(block, 0)) return block;
  const body = Buffer.from(new Pax({ path, ...(size > MAX_USTAR_SIZE ? { size } : {}) }).encodeBody(), 'utf8');
  const pax = Buffer.alloc(BLOCK + body.length + padding(body.length));
  // The pax entry's own name is informational; keep it short and ASCII.
  const name = `PaxHeader/${basename(path)
    .replace(/[^\x20-\x7e]/g, '_')
    .slice(0, 80)}`;
  new Header(fields(name, body.length, mtime, 'ExtendedHeader')).encode(pax, 0);
  body.copy(pax, BLOCK);
  return Buffer.concat([pax, block]);
}

/** Gathers small writes (headers, small files) into 4 MiB writes; large chunks go straight through. */
class BlockWriter {
  readonly #handle: FileHandle;
  readonly #buffer = Buffer.allocUnsafe(READ_CHUNK_SIZE);
  #used = 0;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  async write(data: Uint8Array): Promise<void> {
    if (data.length >= this.#buffer.length / 2) {
      await this.flush(); // what is buffered comes first
      await writeAll(this.#handle, data);
      return;
    }
    if (this.#used + data.length > this.#buffer.length) await this.flush();
    this.#buffer.set(data, this.#used);
    this.#used += data.length;
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await writeAll(this.#handle, this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }
}

function changed(file: string): AirlockError {
  return new AirlockError('E_IO', `${file} changed while it was being packaged`, {
    hint: 'write the package again once nothing modifies its files',
  });
}

async function writeTarBody(
  tmp: string,
  entries: readonly PackageEntry[],
  options: WritePackageOptions,
): Promise<void> {
  const mtime = options.mtime ?? new Date(0);
  const handle = await open(tmp, 'wx', 0o644);
  try {
    const out = new BlockWriter(handle);
    const buffers = readBuffers();
    let done = 0;
    for (const entry of entries) {
      if (entry.data !== undefined) {
        await out.write(entryHeader(entry.path, entry.data.length, mtime));
        await out.write(entry.data);
        await out.write(Buffer.alloc(padding(entry.data.length)));
        done += entry.data.length;
        options.onProgress?.(done);
        continue;
      }
      const file = entry.file ?? '';
      const source = await openForReading(file, false);
      const reader = new ChunkReader(source, file, buffers);
      try {
        const st = await source.stat();
        if (!st.isFile()) throw new AirlockError('E_INPUT_MALFORMED', `${file} is not a plain file`);
        // The header states the size before the bytes follow: a file that grows or shrinks meanwhile
        // would make a corrupt tar, so it fails the write instead.
        await out.write(entryHeader(entry.path, st.size, mtime));
        let copied = 0;
        const hash = entry.sha256 ? createHash('sha256') : undefined;
        for (
          let chunk = await reader.next(READ_CHUNK_SIZE);
          chunk !== undefined;
          chunk = await reader.next(READ_CHUNK_SIZE)
        ) {
          copied += chunk.length;
          if (copied > st.size) throw changed(file);
          hash?.update(chunk);
          await out.write(chunk);
          options.onProgress?.(done + copied);
        }
        if (copied !== st.size) throw changed(file);
        const found = hash?.digest('hex');
        if (found !== undefined && found !== entry.sha256) {
          throw new AirlockError(
            'E_DIGEST_MISMATCH',
            `${file}: expected sha256:${entry.sha256}, found sha256:${found}`,
            {
              details: { subject: entry.path, expected: `sha256:${entry.sha256}`, found: `sha256:${found}` },
            },
          );
        }
        await out.write(Buffer.alloc(padding(st.size)));
        done += copied;
      } finally {
        await reader.close();
      }
    }
    await out.write(END_OF_ARCHIVE);
    await out.flush();
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDirBody(
  tmp: string,
  entries: readonly PackageEntry[],
  options: WritePackageOptions,
): Promise<void> {
  await mkdir(tmp, { mode: 0o755 });
  let done = 0;
  for (const entry of entries) {
    const target = join(tmp, entry.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    if (entry.data !== undefined) {
      await writeFile(target, entry.data, { flag: 'wx', mode: 0o644 });
      done += entry.data.length;
    } else {
      const file = entry.file ?? '';
      const st = await stat(file).catch((err: unknown) => {
        throw fromFsError(err, file);
      });
      if (!st.isFile()) throw new AirlockError('E_INPUT_MALFORMED', `${file} is not a plain file`);
      await copyFile(file, target, constants.COPYFILE_EXCL);
      done += st.size;
    }
    await chmod(target, 0o644); // the umask and the source's mode must not leak into the package
    const handle = await open(target, 'r');
    await handle.sync().finally(() => handle.close());
    options.onProgress?.(done);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  await handle.sync().finally(() => handle.close());
}

/** Checks the entries before anything is written: safe unique paths, one source each. */
function checkEntries(entries: readonly PackageEntry[], out: string): void {
  const tree = new PathTree();
  for (const entry of entries) {
    assertPackagePath(entry.path, `${out}: entry`);
    tree.addFile(entry.path, out);
    if ((entry.file === undefined) === (entry.data === undefined)) {
      throw new AirlockError(
        'E_INTERNAL',
        `${out}: entry '${printable(entry.path)}' needs exactly one of file and data`,
      );
    }
  }
}

/**
 * Writes the package at `out` through a temp name beside it and a rename, so `out` is either the old
 * thing or the complete package. E_OUTPUT_EXISTS when `out` exists and overwrite is not set.
 */
const TEMP_NAME = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]{12}$/;

/**
 * What package writers killed half-way left in `out`'s folder (temp names `.NAME.tmp-PID-HEX` carry the
 * writer's pid): removed once that process is gone, whichever package they were for.
 */
async function sweepLeftovers(out: string): Promise<void> {
  const names = await readdir(dirname(out)).catch(() => [] as string[]);
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || Number(m[3]) === process.pid || processAlive(Number(m[3]))) continue;
    await rm(join(dirname(out), name), { recursive: true, force: true });
  }
}

/**
 * Writes the package at `out` through a temp name beside it and a rename, so `out` is either the old
 * thing or the complete package. E_OUTPUT_EXISTS when `out` exists and overwrite is not set.
 */
export async function writePackage(
  out: string,
  entries: readonly PackageEntry[],
  options: WritePackageOptions,
): Promise<void> {
  checkEntries(entries, out);
  await assertWritable(out, options.overwrite);
  await sweepLeftovers(out);
  const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${suffix}`);
  const old = join(dirname(out), `.${basename(out)}.old-${suffix}`);
  let movedAside = false;
  let placed = false;
  try {
    if (options.format === 'tar') await writeTarBody(tmp, entries, options);
    else await writeDirBody(tmp, entries, options);
    await assertWritable(out, options.overwrite); // it may have appeared while we wrote
    await options.beforePlace?.();
    if (options.format === 'dir' && options.overwrite) {
      // rename() cannot replace a non-empty folder: move the old one aside, then drop it.
      movedAside = await rename(out, old).then(
        () => true,
        (err: unknown) => {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
          throw err;
        },
      );
    }
    await rename(tmp, out);
    placed = true;
    await syncDir(dirname(out));
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (movedAside && !placed) await rename(old, out).catch(() => undefined);
    throw err instanceof AirlockError ? err : fromFsError(err, out, 'write');
  }
  if (movedAside) await rm(old, { recursive: true, force: true });
}
