import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { OUTPUT_FLAGS, signatureOutputs } from './output.ts';

const outputs = (...argv: string[]) => signatureOutputs(testContext(argv, OUTPUT_FLAGS).ctx.flags);

describe('signatureOutputs', () => {
  it('the bundle, the raw signature, or both; --force allows replacing them', () => {
    assert.deepEqual(outputs('--bundle', 'b.json'), { bundle: 'b.json', overwrite: false });
    assert.deepEqual(outputs('--output-signature', 'a.sig', '--force'), { signature: 'a.sig', overwrite: true });
    assert.deepEqual(outputs('--bundle', 'b.json', '--output-signature', 'a.sig'), {
      bundle: 'b.json',
      signature: 'a.sig',
      overwrite: false,
    });
  });
  it('nowhere to write is a usage error', () => {
    assert.throws(() => outputs(), { code: 'E_USAGE', message: /nowhere to write the result/ });
  });
});
