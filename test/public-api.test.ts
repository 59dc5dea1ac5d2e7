// The library surface the docs promise: importable from the package entry, and working end to end.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import * as airlock from '../src/index.ts';
import { verifyWithSigstoreJs } from './helpers/sigstore.ts';

describe('public API', () => {
  it('exports the signing operations', () => {
    for (const name of [
      'signBlob',
      'attestBlob',
      'loadSigner',
      'loadPublicKey',
      'digestFile',
      'AirlockError',
      'verifyBlob',
      'loadTrustedRootFile',
    ]) {
      assert.equal(typeof (airlock as Record<string, unknown>)[name], 'function', name);
    }
  });

  it('loadSigner + signBlob as documented in src/index.ts', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const env = { KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const signer = await airlock.loadSigner('env://KEY', {
      env,
      password: async () => Buffer.alloc(0),
      warn: () => {},
    });
    try {
      const { bundle } = await airlock.signBlob({ data: Buffer.from('x') }, { signer });
      verifyWithSigstoreJs(bundle, Buffer.from('x'), publicKey);
    } finally {
      await signer.close();
    }
  });
});
