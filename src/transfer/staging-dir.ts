// Scratch space of pack, approve and import: under $AIRLOCK_HOME/staging/, never /tmp, one folder per
// run named after its process. A run killed half-way (SIGKILL, power loss) leaves its folder behind;
// the next run that makes a staging folder removes every folder whose process is gone, so nothing a
// crash leaves is never cleaned.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fromFsError } from '../errors.ts';
import { makeDirs } from '../files/state-dir.ts';
import { processAlive } from '../files/process-alive.ts';

const PATTERN = /^(pack|approve|import|inspect)-(\d+)-[0-9a-f]{8}$/;

export function stagingRoot(stateDir: string): string {
  return join(stateDir, 'staging');
}

/** Removes the staging folders of runs that are gone; names not ours are left alone. Returns what it removed. */
export async function sweepStaging(stateDir: string, self = process.pid): Promise<string[]> {
  const root = stagingRoot(stateDir);
  const names = await readdir(root).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
    throw fromFsError(err, root);
  });
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(PATTERN.exec(name)?.[2]);
    if (!pid || pid === self || processAlive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true, maxRetries: 3 });
    removed.push(name);
  }
  return removed;
}

/** A fresh private staging folder for this run, after sweeping what crashed runs left. */
export async function makeStaging(
  stateDir: string,
  purpose: 'pack' | 'approve' | 'import' | 'inspect',
): Promise<string> {
  const root = stagingRoot(stateDir);
  await makeDirs(root);
  await sweepStaging(stateDir);
  const dir = join(root, `${purpose}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 }).catch((err: unknown) => {
    throw fromFsError(err, dir, 'create');
  });
  return dir;
}
