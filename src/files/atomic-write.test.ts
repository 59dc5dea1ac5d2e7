import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFileAtomic, writeSmallFileAtomic } from './atomic-write.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-atomic-'));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const [name, write] of [
  ['writeFileAtomic', (path: string, data: string, mode: number) => writeFileAtomic(path, data, { overwrite: true, mode })],
  ['writeSmallFileAtomic', writeSmallFileAtomic],
] as const) {
  describe(name, () => {
    it('replaces the file whole, with the mode asked for, and leaves no temporary file', async () => {
      const sub = await mkdtemp(join(dir, 'ok-'));
      const path = join(sub, 'checkpoint');
      await writeFile(path, 'old contents that are longer than the new ones\n');
      const text = `origin\n${'é'.repeat(5000)}\n`; // multi-byte, larger than one small write
      await write(path, text, 0o600);
      assert.equal(await readFile(path, 'utf8'), text);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(sub), ['checkpoint']);
    });

    it('fails with a coded error and leaves nothing behind when the directory is missing', async () => {
      await assert.rejects(write(join(dir, 'missing', 'checkpoint'), 'x', 0o644), { code: 'E_INPUT_MISSING' });
      assert.ok(!(await readdir(dir)).some((f) => f.includes('.tmp-')));
    });

    it('reports a parent that is a file as a coded error, not the cleanup failing after it', async () => {
      const file = join(dir, `plain-${name}`);
      await writeFile(file, 'not a directory');
      await assert.rejects(write(join(file, 'checkpoint'), 'x', 0o644), { code: 'E_IO', message: /not a directory/i });
    });

    it('writes side by side in one process without clashing', async () => {
      const sub = await mkdtemp(join(dir, 'race-'));
      await Promise.all(Array.from({ length: 20 }, (_, i) => write(join(sub, `f${i % 2}`), `content ${i}`, 0o644)));
      assert.deepEqual((await readdir(sub)).sort(), ['f0', 'f1']);
    });
  });
}
