import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { findExecutable, runProgram } from './external.ts';

describe('runProgram', () => {
  it('returns stdout of a program that succeeds', async () => {
    const { stdout } = await runProgram(process.execPath, ['-e', 'process.stdout.write("hi")']);
    assert.equal(stdout, 'hi');
  });
  it('a failing program is E_UNAVAILABLE naming its last stderr lines', async () => {
    await assert.rejects(runProgram(process.execPath, ['-e', 'console.error("broken"); process.exit(2)']), (e) => {
      assert.ok(isAirlockError(e, 'E_UNAVAILABLE'));
      assert.match(e.message, /broken/);
      return true;
    });
  });
});

describe('findExecutable', () => {
  it('finds programs on the given PATH only', async () => {
    assert.ok(await findExecutable('sh', '/usr/bin:/bin'));
    assert.equal(await findExecutable('sh', '/nonexistent'), undefined);
  });
});
