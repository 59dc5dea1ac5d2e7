import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { PACKAGE_OUTPUT_FLAGS, packageOutput } from './package-output.ts';

const output = (...argv: string[]) => packageOutput(testContext(argv, PACKAGE_OUTPUT_FLAGS).ctx, 'pack needs -o OUT');

describe('packageOutput', () => {
  it('a tar by default; a folder with --format dir; --force replaces', () => {
    assert.deepEqual(output('-o', 'app.tar'), { out: 'app.tar', format: 'tar', overwrite: false });
    assert.deepEqual(output('--output', 'app', '--format', 'dir', '--force'), {
      out: 'app',
      format: 'dir',
      overwrite: true,
    });
  });
  it("no -o is the command's usage error; an unknown format is refused", () => {
    assert.throws(() => output(), { code: 'E_USAGE', message: 'pack needs -o OUT' });
    assert.throws(() => output('-o', 'x', '--format', 'zip'), { code: 'E_USAGE' });
  });
});
