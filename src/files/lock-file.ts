// An exclusive lock as a file created with O_EXCL, holding the owner's pid. Used where a check and
// the write that depends on it must not interleave with another process doing the same (two imports
// on one channel would both pass as "next"). A lock whose owner is gone is taken over; a live one is
// a clear refusal, never a wait that hangs a pipeline.
import { open, readFile, unlink } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';

export interface HeldLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

async function create(path: string, pid: number): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(`${pid}\n`);
    await handle.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fromFsError(err, path);
  }
}

/** Takes the lock at `path` for `what` (used in the message), or refuses with E_UNAVAILABLE. */
export async function acquireLock(path: string, what: string, pid = process.pid): Promise<HeldLock> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await create(path, pid)) return { release: () => unlink(path).catch(() => undefined) };
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(owner) && owner > 0 && alive(owner)) {
      throw new AirlockError('E_UNAVAILABLE', `${what} is in use by process ${owner}`, {
        hint: `wait for it to finish; if no such process is running airlock, remove ${path}`,
        details: { lock: path, pid: owner },
      });
    }
    // The owner is gone (or the file is empty, a crash between create and write): take it over.
    await unlink(path).catch(() => undefined);
  }
  throw new AirlockError('E_UNAVAILABLE', `${what}: could not take the lock ${path}`, { hint: `remove ${path} if no airlock process is running` });
}
