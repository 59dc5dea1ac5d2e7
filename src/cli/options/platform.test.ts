import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { PLATFORM_FLAGS, platformOption } from './platform.ts';

const platform = (...argv: string[]) => platformOption(testContext(argv, PLATFORM_FLAGS).ctx.flags);

describe('platformOption', () => {
  it('every platform by default, or with --all-platforms', () => {
    assert.equal(platform(), undefined);
    assert.equal(platform('--all-platforms'), undefined);
  });
  it('--platform OS/ARCH[/VARIANT] names one', () => {
    assert.deepEqual(platform('--platform', 'linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  });
  it('refuses both, and a platform without an architecture', () => {
    assert.throws(() => platform('--platform', 'linux/amd64', '--all-platforms'), { code: 'E_USAGE' });
    assert.throws(() => platform('--platform', 'linux'), { code: 'E_USAGE' });
  });
});
