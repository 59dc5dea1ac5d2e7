import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { WITNESS_FLAGS, witnessIdentity } from './witness.ts';

const USAGE = 'airlock log witness needs --state FILE, --key REF and --name NAME';
const identity = (...argv: string[]) => witnessIdentity(testContext(argv, WITNESS_FLAGS, { cwd: '/srv' }).ctx, USAGE);

describe('witnessIdentity', () => {
  it('the state file (resolved against the working directory), key, name and --init', () => {
    assert.deepEqual(identity('--state', 'witness.json', '--key', 'w.key', '--name', 'w1.internal', '--init'), {
      statePath: '/srv/witness.json',
      keyRef: 'w.key',
      name: 'w1.internal',
      init: true,
    });
    assert.equal(identity('--state', '/var/w.json', '--key', 'k', '--name', 'n').init, false);
  });
  it("any of the three missing is the command's usage error", () => {
    for (const argv of [
      ['--key', 'k', '--name', 'n'],
      ['--state', 's', '--name', 'n'],
      ['--state', 's', '--key', 'k'],
    ])
      assert.throws(() => identity(...argv), { code: 'E_USAGE', message: USAGE });
  });
});
