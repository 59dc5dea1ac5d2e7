// An exclusive lock as a file holding its owner's pid and a token unique to this acquisition. Used
// where a check and the write that depends on it must not interleave with another process doing the
// same (two imports on one channel would both pass as "next"). A lock whose owner is gone is taken
// over; a live one is a clear refusal, never a wait that hangs a pipeline.
//
// Every change of the lock file is atomic and made by exactly one process:
//   - taking a free lock: link() of a fully written file of our own onto the lock path, which fails
//     when the path exists (no empty lock is ever visible);
//   - taking over a dead owner's lock: replacing the file by rename(), which only the process that
//     created the guard `LOCK.takeover-<hash of what it replaces>` (link() again) may do, after
//     checking the lock still holds what it read. Two processes that found the same dead owner race
//     for the same guard: one replaces, the other then finds a live owner. A guard whose holder died
//     is replaced by the same rule one level down;
//   - releasing: unlink() only while the file holds our token. No one replaces a live owner's lock,
//     so between that check and the unlink it cannot change.
import { createHash, randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';
import { sweepTempFiles } from './atomic-write.ts';
import { processAlive } from './process-alive.ts';
import { makeDirs } from './state-dir.ts';

export interface HeldLock {
  release(): Promise<void>;
}

/** Guards of guards: each level is a takeover interrupted by a crash, so a few are plenty. */
const MAX_TAKEOVER_DEPTH = 8;
const MAX_ATTEMPTS = 8;

type Outcome = 'replaced' | 'lost';

/** Owner pid of lock text `pid token` (or the old `pid` alone); undefined when there is none. */
function ownerOf(text: string): number | undefined {
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

class LockFiles {
  readonly #path: string;
  readonly #mine: string;

  constructor(path: string, mine: string) {
    this.#path = path;
    this.#mine = mine;
  }

  /** A file of ours beside the lock, named as atomic-write names its temp files: its sweep finds one a crash left. */
  #temp(): string {
    return `${this.#path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  }

  async read(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw fromFsError(err, path);
    }
  }

  /** Creates `path` holding our text, only if it does not exist; false when it does. */
  async create(path: string): Promise<boolean> {
    const temp = this.#temp();
    try {
      await writeFile(temp, this.#mine, { flag: 'wx', mode: 0o600 });
      await link(temp, path);
      return true;
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      throw fromFsError(err, path, 'create');
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  /** Puts our text at `path` in one step, whatever is there (the caller has the right to). */
  async replace(path: string): Promise<void> {
    const temp = this.#temp();
    try {
      await writeFile(temp, this.#mine, { flag: 'wx', mode: 0o600 });
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw fromFsError(err, path, 'replace');
    }
  }

  /** Removes `path` if it still holds our text. */
  async removeMine(path: string): Promise<void> {
    if ((await this.read(path)) !== this.#mine) return;
    await unlink(path).catch((err: unknown) => {
      if (errno(err) !== 'ENOENT') throw fromFsError(err, path, 'remove');
    });
  }

  /**
   * Replaces `path`, which held `seen` written by a process no longer running, with our text: only
   * if it still holds `seen`, and only as the one process that created the guard for `seen`.
   */
  async takeOver(path: string, seen: string, depth = 0): Promise<Outcome> {
    const guard = `${this.#path}.takeover-${createHash('sha256').update(seen).digest('hex').slice(0, 32)}`;
    if (!(await this.create(guard))) {
      const holder = await this.read(guard);
      if (holder === undefined) return 'lost'; // its takeover just finished: look again
      const pid = ownerOf(holder);
      if (pid !== undefined && processAlive(pid)) return 'lost'; // taking over right now
      if (depth >= MAX_TAKEOVER_DEPTH)
        throw new AirlockError('E_UNAVAILABLE', `${this.#path}: too many interrupted takeovers`, {
          hint: `remove ${this.#path} and ${this.#path}.takeover-* if no airlock process is running`,
        });
      if ((await this.takeOver(guard, holder, depth + 1)) === 'lost') return 'lost';
    }
    try {
      if ((await this.read(path)) !== seen) return 'lost';
      await this.replace(path);
      return 'replaced';
    } finally {
      await this.removeMine(guard);
    }
  }
}

function inUse(what: string, path: string, pid: number): AirlockError {
  return new AirlockError('E_UNAVAILABLE', `${what} is in use by process ${pid}`, {
    hint: `wait for it to finish; if no such process is running airlock, remove ${path}`,
    details: { lock: path, pid },
  });
}

/** Takes the lock at `path` for `what` (used in the message), or refuses with E_UNAVAILABLE. */
export async function acquireLock(path: string, what: string, pid = process.pid): Promise<HeldLock> {
  await makeDirs(dirname(path));
  // Helper files of a process killed while it took or released a lock (ours are never left otherwise).
  await sweepTempFiles(path);
  const mine = `${pid} ${randomBytes(16).toString('hex')}\n`;
  const files = new LockFiles(path, mine);
  const held: HeldLock = { release: () => files.removeMine(path) };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await files.create(path)) return held;
    const seen = await files.read(path);
    if (seen === undefined) continue; // released meanwhile
    const owner = ownerOf(seen);
    if (owner !== undefined && processAlive(owner)) throw inUse(what, path, owner);
    // The owner is gone (or the file holds no pid, a crash of an older airlock): take it over.
    if ((await files.takeOver(path, seen)) === 'replaced') return held;
  }
  throw new AirlockError('E_UNAVAILABLE', `${what}: could not take the lock ${path}`, {
    hint: `remove ${path} if no airlock process is running`,
  });
}
