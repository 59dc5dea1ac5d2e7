// $AIRLOCK_HOME, the folder airlock keeps its state in, checked before state is read or written there:
// a file in its place, a path under a regular file or a place nothing can be created (/proc) is said
// to be that, naming AIRLOCK_HOME (E_IO), instead of surfacing as whatever the first file read there
// fails with (a "corrupt" trust root, an unreadable audit key). And folders are made without Node's
// recursive mkdir, which loops forever on a path whose parent exists but refuses children (/proc/1/x).
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';
import { bounded } from '../text.ts';

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

export function stateDirError(stateDir: string, why: string, cause?: unknown): AirlockError {
  return new AirlockError('E_IO', `$AIRLOCK_HOME (${bounded(stateDir)}) cannot be used: ${why}`, {
    hint: 'point AIRLOCK_HOME at a folder airlock may create and write (default ~/.local/state/airlock)',
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Checks that `stateDir` is a folder, or can become one: the nearest part of the path that exists
 * must be a folder. A state dir that does not exist yet is fine (nothing is installed or recorded
 * there yet); creating it is makeStateDir's.
 */
export async function checkStateDir(stateDir: string): Promise<void> {
  let path = resolve(stateDir);
  for (;;) {
    try {
      const st = await stat(path);
      if (st.isDirectory()) return;
      throw stateDirError(
        stateDir,
        path === resolve(stateDir) ? 'it is not a folder' : `${bounded(path)} is not a folder`,
      );
    } catch (err) {
      if (err instanceof AirlockError) throw err;
      const code = errno(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw stateDirError(stateDir, (err as Error).message, err);
    }
    const parent = dirname(path);
    if (parent === path) return;
    path = parent;
  }
}

/** `mkdir -p path`, one folder at a time: a parent that refuses a child fails once, never loops. */
export async function makeDirs(path: string, mode = 0o700): Promise<void> {
  const missing: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    const st = await stat(p).catch((err: unknown) => {
      if (errno(err) === 'ENOENT') return undefined;
      throw fromFsError(err, p, 'create a folder in');
    });
    if (st?.isDirectory()) break;
    if (st) throw new AirlockError('E_IO', `cannot create ${bounded(path)}: ${bounded(p)} is not a folder`);
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    await mkdir(p, { mode }).catch(async (err: unknown) => {
      // Another process made it meanwhile: fine, if it is a folder.
      if (errno(err) === 'EEXIST' && (await stat(p).catch(() => undefined))?.isDirectory()) return;
      throw fromFsError(err, p, 'create');
    });
  }
}

/** Makes `stateDir/...subs` (0700), or says why $AIRLOCK_HOME cannot hold it. */
export async function makeStateDir(stateDir: string, ...subs: string[]): Promise<string> {
  await checkStateDir(stateDir);
  const dir = join(stateDir, ...subs);
  await makeDirs(dir).catch((err: unknown) => {
    throw stateDirError(stateDir, err instanceof Error ? err.message : String(err), err);
  });
  return dir;
}
