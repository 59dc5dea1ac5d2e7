// Temporary folders for tests: made fresh under the OS temporary folder (mkdtemp, so no two runs or
// files share one) and removed with everything in them when the tests that use them are done.
//   useTempDir(prefix)       one folder for the tests of this file (or describe block)
//   useTempDirs()            a maker of folders on demand, all removed after this file's (or block's) tests
//   withTempDir(prefix, fn)  one folder for the length of fn
// The first two register a node:test `after` hook where they are called. node:test runs after hooks in
// the order they were registered, so whatever must stop before its folder goes (a server or a process
// writing into it) registers its own after hook above the call.
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const remove = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true });

/** A fresh folder, made now, removed after the tests of the file or describe block this is called in. */
export function useTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => remove(dir));
  return dir;
}

/** Makes fresh folders on demand; all of them are removed after the tests of the file or block this is called in. */
export function useTempDirs(): (prefix: string) => Promise<string> {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map(remove)));
  return async (prefix) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** `fn` given a fresh folder, which is removed once fn has settled, whether it returned or threw. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await remove(dir);
  }
}
