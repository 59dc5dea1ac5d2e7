// Every file airlock writes goes through here: temp file in the same directory, fsync, rename, fsync
// of the directory. A crash leaves the old file or the new one, never half of either.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fsync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { access, lstat, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AirlockError, fromFsError } from '../errors.ts';
import { processAlive } from './process-alive.ts';

export interface AtomicWriteOptions {
  /** File mode of the new file (0o600 for secrets). */
  readonly mode?: number;
  /** Replace an existing file; otherwise E_OUTPUT_EXISTS. */
  readonly overwrite?: boolean;
}

export async function pathExists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  if (!options.overwrite && (await pathExists(path))) {
    throw new AirlockError('E_OUTPUT_EXISTS', `${path} already exists`, { hint: 'pass --force to overwrite it' });
  }
  const mode = options.mode ?? 0o644;
  const tmp = tempPathFor(path);
  let created = false;
  try {
    const handle = await open(tmp, 'wx', mode);
    created = true;
    try {
      await handle.writeFile(data);
      await handle.chmod(mode); // the umask must not widen a private key's mode
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    const dir = await open(dirname(path), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (err) {
    // Only our own temp file, and a failing cleanup must not hide why the write failed.
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw fromFsError(err, path, 'write');
  }
}

/** Beside `path` (same directory, so the rename is atomic), unique even for two writes in one millisecond. */
function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The files SQLite keeps beside a database, by the suffix it adds to the database's name. */
export const SQLITE_SIDECARS = ['-journal', '-wal', '-shm'] as const;
const TEMP_NAME = new RegExp(`^([1-9][0-9]{0,9})-[0-9a-f]{12}(?:${SQLITE_SIDECARS.join('|')})?$`);

/**
 * Removes what an atomic write of `path` left behind when its process died (SIGKILL between the
 * temp file's creation and its rename): regular files named exactly as tempPathFor names them,
 * whose writer is no longer running, with the sidecars SQLite keeps beside a database built under such
 * a name (`-journal`, `-wal`, `-shm`). A file of a live process (another writer of the same path, now)
 * and anything else in the folder are left alone. Returns the names removed.
 */
export async function sweepTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromFsError(err, dir, 'list');
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = TEMP_NAME.exec(name.slice(prefix.length));
    const pid = Number(m?.[1]);
    if (!m || pid === process.pid || processAlive(pid)) continue;
    const file = join(dir, name);
    const st = await lstat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    await rm(file, { force: true }).catch((err: unknown) => {
      throw fromFsError(err, file, 'remove');
    });
    removed.push(name);
  }
  return removed;
}

const fsyncFd = promisify(fsync);

/**
 * The same steps for a small file on a hot path (a log's last-signed checkpoint, once per batch): the
 * open, write, rename and close are direct calls, microseconds each, and only the two fsyncs leave the
 * event loop. Under load every asynchronous fs call waits a whole event-loop turn for its answer, and
 * the nine of writeFileAtomic made each batch wait tens of milliseconds. `flush` is the fsync: a thread
 * with nothing else to do (small-file-writer.ts) passes fsyncSync and runs the steps back to back.
 */
export async function writeSmallFileAtomic(
  path: string,
  data: string,
  mode = 0o644,
  flush: (fd: number) => unknown = fsyncFd,
): Promise<void> {
  const tmp = tempPathFor(path);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx', mode);
    created = true;
    try {
      writeFileSync(fd, data); // loops until every byte is written
      fchmodSync(fd, mode);
      await flush(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dir = openSync(dirname(path), 'r');
    try {
      await flush(dir);
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    if (created) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // the write's own failure is the one to report
      }
    }
    throw fromFsError(err, path, 'write');
  }
}
