import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireLock } from './lock-file.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-lock-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('acquireLock', () => {
  it('is exclusive while held, free again once released', async () => {
    const path = join(dir, 'sub', 'a.lock');
    const held = await acquireLock(path, 'channel a');
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    await assert.rejects(acquireLock(path, 'channel a'), { code: 'E_UNAVAILABLE', message: new RegExp(`channel a is in use by process ${process.pid}`) });
    await held.release();
    await (await acquireLock(path, 'channel a')).release();
  });

  it('takes over a lock whose owner is gone, or that is empty', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const path = join(dir, 'stale.lock');
    for (const body of [`${gone.stdout}\n`, '']) {
      await writeFile(path, body);
      const held = await acquireLock(path, 'stale');
      assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
      await held.release();
    }
  });
});
