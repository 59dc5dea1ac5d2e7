import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../../errors.ts';
import { registryEndpoint } from './endpoint.ts';

describe('registryEndpoint', () => {
  it('https for a registry, http only for an insecure loopback one', () => {
    assert.equal(registryEndpoint('registry.example.com', 'team/app', false).origin, 'https://registry.example.com');
    assert.equal(registryEndpoint('127.0.0.1:5000', 'app', true).origin, 'http://127.0.0.1:5000');
    assert.throws(
      () => registryEndpoint('registry.example.com', 'app', true),
      (e) => isAirlockError(e, 'E_USAGE'),
    );
  });

  it('refuses user information in the registry without showing it', () => {
    for (const registry of ['alice:hunter2@registry.example.com', 'alice:hunter2@127.0.0.1:5000']) {
      assert.throws(
        () => registryEndpoint(registry, 'app', false),
        (e) =>
          isAirlockError(e, 'E_USAGE') && !JSON.stringify(e.toJSON()).includes('hunter2') && e.message.includes('***@'),
      );
    }
  });

  it('bounds what it echoes of a bad name', () => {
    assert.throws(
      () => registryEndpoint(`${'x'.repeat(5000)} bad`, 'app', false),
      (e) => isAirlockError(e, 'E_USAGE') && e.message.length < 400,
    );
  });
});
