import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { sweepTempFiles, writeFileAtomic, writeSmallFileAtomic } from './atomic-write.ts';
import { smallFileWriter } from './small-file-writer.ts';

// No timer keeps this file's tests alive: the off-thread writer must, while a write is in flight.
const offThread = smallFileWriter();
// Registered before the folder below (after hooks run in order): the writer closes first.
after(() => offThread.close());
const dir = useTempDir('airlock-atomic-');

for (const [name, write] of [
  [
    'writeFileAtomic',
    (path: string, data: string, mode: number) => writeFileAtomic(path, data, { overwrite: true, mode }),
  ],
  ['writeSmallFileAtomic', writeSmallFileAtomic],
  ['smallFileWriter (on a worker)', (path: string, data: string, mode: number) => offThread.write(path, data, mode)],
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

describe('smallFileWriter', () => {
  const crashing = new URL('../../test/helpers/crashing-file-writer-worker.ts', import.meta.url);

  it('fails the writes a dying worker held, and the next write starts another', async () => {
    const writer = smallFileWriter(crashing);
    try {
      const sub = await mkdtemp(join(dir, 'crash-'));
      await writer.write(join(sub, 'a'), 'first');
      const [crashed, after] = await Promise.allSettled([
        writer.write(join(sub, 'crash'), 'x'),
        writer.write(join(sub, 'b'), 'lost with it'),
      ]);
      assert.equal(crashed.status, 'rejected');
      assert.equal(after.status, 'rejected');
      assert.match(String((crashed as PromiseRejectedResult).reason), /file-writing worker failed/);
      assert.equal((crashed as PromiseRejectedResult).reason.code, 'E_INTERNAL');
      await writer.write(join(sub, 'c'), 'third');
      assert.equal(await readFile(join(sub, 'c'), 'utf8'), 'third');
      assert.equal(await readFile(join(sub, 'a'), 'utf8'), 'first');
    } finally {
      await writer.close();
    }
  });

  it('keeps a process with nothing else to do alive until its write is done', async () => {
    const path = join(await mkdtemp(join(dir, 'alive-')), 'f');
    // A process whose only work is the writes: an unref'd worker would let it exit first (a worker
    // that is still starting keeps it alive, so the second write is the one that shows).
    const writerModule = JSON.stringify(new URL('./small-file-writer.ts', import.meta.url).href);
    const script = `import { smallFileWriter } from ${writerModule};
      const writer = smallFileWriter();
      await writer.write(${JSON.stringify(path)}, 'first');
      await writer.write(${JSON.stringify(path)}, 'done');
      console.log('written');`;
    const main = join(dir, `alive-${Date.now()}.mjs`);
    await writeFile(main, script);
    const { stdout } = await promisify(execFile)(process.execPath, [main]);
    assert.equal(stdout.trim(), 'written');
    assert.equal(await readFile(path, 'utf8'), 'done');
  });

  it('waits for writes in flight on close, then refuses new ones', async () => {
    const writer = smallFileWriter();
    const sub = await mkdtemp(join(dir, 'close-'));
    const pending = writer.write(join(sub, 'f'), 'written before close');
    await Promise.all([writer.close(), writer.close()]);
    await pending;
    assert.equal(await readFile(join(sub, 'f'), 'utf8'), 'written before close');
    await assert.rejects(writer.write(join(sub, 'g'), 'x'), { code: 'E_INTERNAL', message: /closed/ });
  });
});

describe('sweepTempFiles', () => {
  it("removes a dead writer's temporary file and its SQLite sidecars, and nothing else", async () => {
    const folder = await mkdtemp(join(dir, 'sweep-'));
    const exited = promisify(execFile)(process.execPath, ['-e', '']);
    const dead = exited.child.pid;
    await exited;
    const mine = `${dead}-0123456789ab`;
    const gone = ['', '-journal', '-wal', '-shm'].map((suffix) => `out.db.tmp-${mine}${suffix}`);
    const kept = [
      'out.db',
      `out.db.tmp-${mine}-other`, // not a name SQLite gives a sidecar
      `out.db.tmp-${process.pid}-0123456789ab-journal`, // a live writer's
      `other.db.tmp-${mine}`, // another output's
    ];
    for (const name of [...gone, ...kept]) await writeFile(join(folder, name), 'x');
    assert.deepEqual((await sweepTempFiles(join(folder, 'out.db'))).sort(), [...gone].sort());
    assert.deepEqual((await readdir(folder)).sort(), [...kept].sort());
  });
});
