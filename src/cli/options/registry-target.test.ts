import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registryTarget } from './registry-target.ts';

describe('registryTarget', () => {
  it('HOST or HOST/PREFIX', () => {
    assert.deepEqual(registryTarget('registry.internal:5000'), { host: 'registry.internal:5000' });
    assert.deepEqual(registryTarget('registry.internal/mirror/team'), {
      host: 'registry.internal',
      prefix: 'mirror/team',
    });
  });
  it('refuses a scheme, no host, and credentials (without repeating them)', () => {
    assert.throws(() => registryTarget('https://registry.internal'), { code: 'E_USAGE' });
    assert.throws(() => registryTarget('/mirror'), { code: 'E_USAGE' });
    assert.throws(
      () => registryTarget('alice:s3cret@registry.internal'),
      (err: Error) => !err.message.includes('s3cret'),
    );
  });
});
