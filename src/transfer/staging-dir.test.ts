import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { writePackage } from './package/write-package.ts';
import { makeStaging, stagingRoot } from './staging-dir.ts';

const tempDir = useTempDirs();

/** The pid of a process that has exited: what a SIGKILLed run leaves in its names. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('what crashed runs leave behind is swept at the next start', () => {
  it('staging folders of processes that are gone are removed; live ones and foreign names stay', async () => {
    const home = await tempDir('airlock-staging-');
    const root = stagingRoot(home);
    const dead = `import-${deadPid()}-0123abcd`;
    const live = `pack-${process.ppid}-89abcdef`;
    for (const name of [dead, live, 'not-ours']) {
      await mkdir(join(root, name, 'oci'), { recursive: true });
      await writeFile(join(root, name, 'oci', 'blob'), 'x');
    }
    const mine = await makeStaging(home, 'inspect');
    assert.deepEqual((await readdir(root)).sort(), [live, 'not-ours', mine.split('/').pop()].sort());
  });

  it("package writers' temp files, left by dead writers, go when a package is next written there", async () => {
    const dir = await tempDir('airlock-pkg-tmp-');
    const out = join(dir, 'p.tar');
    const leftover = `.p.tar.tmp-${deadPid()}-0123456789ab`;
    const someoneElse = `.other.tar.tmp-${deadPid()}-0123456789ab`;
    const live = `.p.tar.tmp-${process.ppid}-0123456789ab`;
    for (const n of [leftover, someoneElse, live]) await writeFile(join(dir, n), 'partial');
    await writePackage(out, [{ path: 'a', data: Buffer.from('a') }], { format: 'tar' });
    assert.deepEqual((await readdir(dir)).sort(), [live, 'p.tar'].sort());
  });
});
