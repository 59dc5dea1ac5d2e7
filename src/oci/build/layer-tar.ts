// Reproducible image layers: folders on disk (and a few generated files) written as one tar+gzip OCI
// layer whose bytes depend only on paths, contents, modes and link targets. Entries are sorted by
// path, owned by uid/gid 0 (unless an entry names its owner) with no user or group names, and carry
// one fixed mtime; a file seen again under another name (same device and inode) becomes a hard link
// to the first. Devices, fifos and sockets are not carried: a container runtime provides /dev. ustar
// headers, with a pax record only for what ustar cannot hold (long paths or link targets). The tar is
// streamed through gzip to a file; nothing is held in memory.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, type HeaderData, Pax } from 'tar';
import { AirlockError, fromFsError } from '../../errors.ts';
import { OCI_LAYER_TAR_GZIP } from '../media-types.ts';
import type { Descriptor } from '../types.ts';

export interface LayerEntry {
  /** Path inside the image, relative to `/`, without a trailing slash. */
  readonly path: string;
  readonly kind: 'dir' | 'file' | 'symlink' | 'hardlink';
  /** Permission bits (setuid/setgid/sticky included). */
  readonly mode: number;
  /** For files: the file on disk holding the bytes (exactly one of source and data). */
  readonly source?: string;
  readonly data?: Uint8Array;
  /** For symlinks: the target; for hard links: the path (inside the image) of the first name. */
  readonly linkpath?: string;
  /** For files read from disk: the size the walk saw, checked while streaming. */
  readonly size?: number;
  /** `dev:ino` of a file read from disk, to find hard links. */
  readonly inode?: string;
  /** Owner (default 0, root): e.g. a home folder that belongs to the image's user. */
  readonly uid?: number;
  readonly gid?: number;
}

export interface TreeOptions {
  /** Leaves out a path (relative to the folder walked, `/`-separated) and, for a folder, all it holds. */
  readonly exclude?: (relative: string) => boolean;
}

export interface BuiltLayer {
  /** The gzip layer as a blob descriptor (media type OCI tar+gzip). */
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  readonly diffId: string;
  /** Where the gzip bytes were written. */
  readonly file: string;
}

const BLOCK = 512;
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);
const TYPES = { dir: 'Directory', file: 'File', symlink: 'SymbolicLink', hardlink: 'Link' } as const;

function normalize(path: string): string {
  const clean = path.split('/').filter((p) => p !== '' && p !== '.');
  if (clean.length === 0 || clean.includes('..')) {
    throw new AirlockError('E_USAGE', `layer path '${path}' must name something below / without '..'`);
  }
  return clean.join('/');
}

/** A generated file (e.g. /etc/passwd) as a layer entry. */
export function dataEntry(path: string, data: string | Uint8Array, mode = 0o644): LayerEntry {
  return { path: normalize(path), kind: 'file', mode, data: typeof data === 'string' ? Buffer.from(data) : data };
}

/** A folder as a layer entry, owned by root unless `owner` says otherwise. */
export function dirEntry(path: string, mode = 0o755, owner?: { uid: number; gid: number }): LayerEntry {
  return { path: normalize(path), kind: 'dir', mode, ...owner };
}

/** A file on disk as a layer entry at `path`; its mode is kept unless `mode` is given. */
export async function fileEntry(path: string, source: string, mode?: number): Promise<LayerEntry> {
  const st = await lstat(source).catch((err: unknown) => {
    throw fromFsError(err, source);
  });
  if (!st.isFile()) throw new AirlockError('E_INPUT_MALFORMED', `${source} is not a regular file`);
  const inode = `${st.dev}:${st.ino}`;
  return { path: normalize(path), kind: 'file', mode: mode ?? st.mode & 0o7777, source, size: st.size, inode };
}

/**
 * Everything under `dir` as layer entries below `to` (e.g. `opt/airlock`, or `/` for a root
 * filesystem), `dir` itself included as `to` unless that is the root. Symlinks are kept as links,
 * never followed.
 */
export async function treeEntries(dir: string, to: string, options: TreeOptions = {}): Promise<LayerEntry[]> {
  const base = to.split('/').some((p) => p !== '' && p !== '.') ? normalize(to) : '';
  const out: LayerEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs).catch((err: unknown) => {
      throw fromFsError(err, abs);
    });
    const path = [base, rel].filter((p) => p !== '').join('/');
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      if (path !== '') out.push({ path, kind: 'dir', mode });
      for (const name of (await readdir(abs)).sort()) {
        const child = rel === '' ? name : `${rel}/${name}`;
        if (!options.exclude?.(child)) await walk(join(abs, name), child);
      }
    } else if (st.isFile()) {
      out.push({ path, kind: 'file', mode, source: abs, size: st.size, inode: `${st.dev}:${st.ino}` });
    } else if (st.isSymbolicLink()) {
      out.push({ path, kind: 'symlink', mode: 0o777, linkpath: await readlink(abs) });
    }
  };
  await walk(dir, '');
  return out;
}

/**
 * Sorts entries by path, drops exact duplicates (the first given wins), adds the folders above each
 * entry that no entry names (mode 0755), and turns repeated inodes into hard links.
 */
export function arrangeEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) if (!byPath.has(e.path)) byPath.set(e.path, e);
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!byPath.has(parent)) byPath.set(parent, dirEntry(parent));
    }
  }
  const firstName = new Map<string, string>();
  return [...byPath.values()]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((e) => {
      if (e.kind !== 'file' || e.inode === undefined) return e;
      const first = firstName.get(e.inode);
      if (first === undefined) {
        firstName.set(e.inode, e.path);
        return e;
      }
      return { path: e.path, kind: 'hardlink', mode: e.mode, linkpath: first };
    });
}

function headerFields(e: LayerEntry, path: string, size: number, mtime: Date, linkpath?: string): HeaderData {
  return {
    path,
    mode: e.mode,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    size,
    mtime,
    type: TYPES[e.kind],
    uname: '',
    gname: '',
    devmaj: 0,
    devmin: 0,
    ...(linkpath !== undefined ? { linkpath } : {}),
  };
}

/** The header block(s) of one entry: a pax record first when ustar cannot say it all. */
function entryHeader(e: LayerEntry, size: number, mtime: Date): Buffer {
  const path = e.kind === 'dir' ? `${e.path}/` : e.path;
  const block = Buffer.alloc(BLOCK);
  if (!new Header(headerFields(e, path, size, mtime, e.linkpath)).encode(block, 0)) return block;
  const body = Buffer.from(
    new Pax({ path, ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}) }).encodeBody(),
    'utf8',
  );
  const pax = Buffer.alloc(BLOCK + body.length + padding(body.length));
  const paxEntry: LayerEntry = { path: 'PaxHeader', kind: 'file', mode: 0o644 };
  new Header({ ...headerFields(paxEntry, 'PaxHeader', body.length, mtime), type: 'ExtendedHeader' }).encode(pax, 0);
  body.copy(pax, BLOCK);
  // ustar fields the pax record overrides still get a (truncated) value; Header wrote them into `block`.
  return Buffer.concat([pax, block]);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

async function* fileBytes(e: LayerEntry): AsyncGenerator<Buffer> {
  if (e.data !== undefined) {
    yield Buffer.from(e.data);
    return;
  }
  const source = e.source ?? '';
  let seen = 0;
  try {
    for await (const chunk of createReadStream(source)) {
      seen += (chunk as Buffer).length;
      if (seen > (e.size ?? 0)) break;
      yield chunk as Buffer;
    }
  } catch (err) {
    throw fromFsError(err, source);
  }
  if (seen !== e.size) throw new AirlockError('E_IO', `${source} changed size while it was being written to a layer`);
}

async function* tarBytes(entries: readonly LayerEntry[], mtime: Date): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const size = e.kind !== 'file' ? 0 : (e.data?.length ?? e.size ?? 0);
    yield entryHeader(e, size, mtime);
    if (e.kind !== 'file') continue;
    yield* fileBytes(e);
    const pad = padding(size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield END_OF_ARCHIVE;
}

function hashing(onEnd: (digest: string, size: number) => void): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      onEnd(`sha256:${hash.digest('hex')}`, size);
      done();
    },
  });
}

/**
 * Writes `entries` (arranged with arrangeEntries) as a tar+gzip layer to `file`; every entry gets
 * `mtime`. Same entries and file contents give the same bytes.
 */
export async function writeLayer(entries: readonly LayerEntry[], file: string, mtime: Date): Promise<BuiltLayer> {
  let diffId = '';
  let digest = '';
  let size = 0;
  await pipeline(
    tarBytes(entries, mtime),
    hashing((d) => (diffId = d)),
    createGzip({ level: 6 }),
    hashing((d, n) => ((digest = d), (size = n))),
    createWriteStream(file),
  );
  return { descriptor: { mediaType: OCI_LAYER_TAR_GZIP, digest, size }, diffId, file };
}
