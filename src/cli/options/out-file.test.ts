import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { outFile, outFileFlags } from './out-file.ts';

const FLAGS = outFileFlags('Write the note to FILE');
const out = (...argv: string[]) => outFile(testContext(argv, FLAGS, { cwd: '/work' }).ctx);

describe('outFile', () => {
  it('none without --out', () => {
    assert.equal(out(), undefined);
  });
  it('--out resolved against the working directory, as typed for messages; --force replaces', () => {
    assert.deepEqual(out('--out', 'notes/cp.txt'), {
      path: '/work/notes/cp.txt',
      given: 'notes/cp.txt',
      overwrite: false,
    });
    assert.deepEqual(out('--out', '/tmp/cp.txt', '--force'), {
      path: '/tmp/cp.txt',
      given: '/tmp/cp.txt',
      overwrite: true,
    });
  });
  it("the flags carry the command's description of what is written", () => {
    assert.equal(FLAGS.out.description, 'Write the note to FILE');
  });
});
