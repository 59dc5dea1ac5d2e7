// Temp folders and the deterministic, atomic tar writer the archive stores share.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { create as createTar } from 'tar';
import { AirlockError, fromFsError } from '../../errors.ts';
import { pathExists } from '../../files/atomic-write.ts';
import type { ImageStore } from '../types.ts';
import { type ExtractResult, extractTarSafely } from './safe-extract.ts';

export interface ArchiveOptions {
  readonly mode: 'read' | 'write';
  /** Write over an existing FILE; otherwise E_OUTPUT_EXISTS. */
  readonly overwrite?: boolean;
  /** Where the temp folder goes (default: the OS temp folder). It needs room for the whole image. */
  readonly tempDir?: string;
}

/** An archive store: close() writes (write mode) and cleans up; discard() only cleans up. */
export interface ArchiveStore extends ImageStore {
  /** Drops the staged or unpacked contents without writing FILE (after a failed copy). */
  discard(): Promise<void>;
}

export function readOnly(description: string): never {
  throw new AirlockError('E_INTERNAL', `${description} was opened for reading; it cannot be written`);
}

/** Unpacks FILE into a new temp folder; the folder is removed again when that fails. */
export async function unpackArchive(
  file: string,
  tempDir: string | undefined,
  label: string,
  links: 'reject' | 'record',
): Promise<{ dir: string; contents: ExtractResult }> {
  const st = await stat(file).catch((err: unknown) => {
    throw fromFsError(err, file);
  });
  if (!st.isFile()) throw new AirlockError('E_INPUT_MALFORMED', `${file} is not a file`);
  const dir = await makeTempDir(tempDir, label);
  try {
    return { dir, contents: await extractTarSafely(file, dir, { links }) };
  } catch (err) {
    await removeTempDir(dir);
    throw err;
  }
}

/** A private (0700) folder for an archive's unpacked or staged contents. */
export async function makeTempDir(parent: string | undefined, label: string): Promise<string> {
  const base = parent ?? tmpdir();
  try {
    return await mkdtemp(join(base, `airlock-${label}-`));
  } catch (err) {
    throw fromFsError(err, base, 'create a temp folder in');
  }
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

export async function assertWritable(file: string, overwrite: boolean | undefined): Promise<void> {
  if (!overwrite && (await pathExists(file))) {
    throw new AirlockError('E_OUTPUT_EXISTS', `${file} already exists`, { hint: 'pass --force to overwrite it' });
  }
}

/**
 * Lists `dir` for a tar: folders before their contents, names sorted bytewise, dot-files (our temp
 * files) left out; modes normalised so the archive does not depend on the umask.
 */
export async function listTree(dir: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(join(dir, under), { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const rel = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      await chmod(join(dir, rel), 0o755);
      out.push(`${rel}/`, ...(await listTree(dir, rel)));
    } else if (entry.isFile()) {
      await chmod(join(dir, rel), 0o644);
      out.push(rel);
    }
  }
  return out;
}

/**
 * Writes `entries` (paths relative to `cwd`, in the order given) as an uncompressed tar at `file`:
 * temp file beside it, fsync, rename. `portable` drops uid/gid/user names and the fixed mtime makes
 * equal contents give equal bytes.
 */
export async function writeTarAtomic(
  file: string,
  cwd: string,
  entries: readonly string[],
  overwrite: boolean | undefined,
): Promise<void> {
  await assertWritable(file, overwrite);
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await createTar({ file: tmp, cwd, portable: true, mtime: new Date(0), noDirRecurse: true }, [...entries]);
    const handle = await open(tmp, 'r+');
    await handle.sync().finally(() => handle.close());
    await assertWritable(file, overwrite); // it may have appeared while we wrote
    await rename(tmp, file);
    const parent = await open(dirname(file), 'r');
    await parent.sync().finally(() => parent.close());
  } catch (err) {
    await rm(tmp, { force: true });
    throw err instanceof AirlockError ? err : fromFsError(err, file, 'write');
  }
}
