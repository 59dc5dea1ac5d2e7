// Each fixture is used inside a describe block; the tests after that block (node:test runs a file's
// tests in order, a block's after hooks before the next test) see what its hooks left.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { useTempDir, useTempDirs, withTempDir } from './temp-dir.ts';

const made: { useTempDir: string[]; useTempDirs: string[] } = { useTempDir: [], useTempDirs: [] };
let seenByEarlierHook: boolean | undefined;

describe('useTempDir', () => {
  after(() => {
    seenByEarlierHook = existsSync(made.useTempDir[0] ?? '');
  });
  const dir = useTempDir('airlock-temp-dir-test-');
  made.useTempDir.push(dir);

  it('is a fresh folder under the OS temporary folder, named from the prefix, there for the tests', async () => {
    assert.equal(dirname(dir), tmpdir());
    assert.match(basename(dir), /^airlock-temp-dir-test-.{6}$/);
    assert.ok(existsSync(dir));
    await writeFile(join(dir, 'a file'), 'x');
  });
});

describe('useTempDirs', () => {
  const tempDir = useTempDirs();

  it('makes a fresh folder per call', async () => {
    const [a, b] = [await tempDir('airlock-temp-dirs-a-'), await tempDir('airlock-temp-dirs-b-')];
    made.useTempDirs.push(a, b);
    assert.notEqual(a, b);
    assert.match(basename(a), /^airlock-temp-dirs-a-/);
    assert.ok(existsSync(a) && existsSync(b));
    await writeFile(join(b, 'a file'), 'x');
  });
});

describe('after the blocks', () => {
  it('useTempDir removed its folder with what was in it, after the hooks registered above it', () => {
    assert.equal(made.useTempDir.length, 1);
    assert.equal(seenByEarlierHook, true, 'an after hook registered above the call still sees the folder');
    assert.ok(!existsSync(made.useTempDir[0] ?? ''));
  });

  it('useTempDirs removed every folder it made', () => {
    assert.equal(made.useTempDirs.length, 2);
    for (const dir of made.useTempDirs) assert.ok(!existsSync(dir), dir);
  });
});

describe('withTempDir', () => {
  it('gives fn a fresh folder and answers what fn answers; the folder is gone after', async () => {
    let seen = '';
    const answer = await withTempDir('airlock-with-temp-dir-', async (dir) => {
      seen = dir;
      assert.equal(dirname(dir), tmpdir());
      await writeFile(join(dir, 'a file'), 'x');
      return 42;
    });
    assert.equal(answer, 42);
    assert.ok(seen !== '' && !existsSync(seen));
  });

  it('removes the folder when fn throws, and passes the error on', async () => {
    let seen = '';
    await assert.rejects(
      withTempDir('airlock-with-temp-dir-', async (dir) => {
        seen = dir;
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.ok(seen !== '' && !existsSync(seen));
  });
});
