import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { type KeyContext, loadPublicKey, loadSigner, parseKeyRef } from './key-ref.ts';
import { keyHint } from './keys.ts';

function ctx(env: Record<string, string> = {}, warnings: string[] = []): KeyContext {
  return { env, password: async () => Buffer.from('hello'), warn: (m) => warnings.push(m) };
}

describe('parseKeyRef', () => {
  it('files, env:// and pkcs11:', () => {
    assert.deepEqual(parseKeyRef('cosign.key'), { kind: 'file', path: 'cosign.key' });
    assert.deepEqual(parseKeyRef('env://SIGNING_KEY'), { kind: 'env', variable: 'SIGNING_KEY' });
    assert.equal(parseKeyRef('pkcs11:token=a;object=b').kind, 'pkcs11');
  });
  for (const scheme of ['gcpkms', 'awskms', 'azurekms', 'hashivault']) {
    it(`${scheme}:// is recognised and refused, naming pkcs11: as the HSM route`, async () => {
      assert.deepEqual(parseKeyRef(`${scheme}://x/y`), { kind: 'unsupported', scheme });
      await assert.rejects(loadSigner(`${scheme}://x/y`, ctx()), (e) => {
        assert.ok(isAirlockError(e, 'E_KEY_REF_UNSUPPORTED'));
        assert.equal(e.exitCode, 2);
        assert.match(e.hint ?? '', /pkcs11:/);
        return true;
      });
    });
  }
  it('an unknown scheme is a usage error', () => {
    assert.throws(
      () => parseKeyRef('ftp://x'),
      (e) => isAirlockError(e, 'E_USAGE'),
    );
  });
});

describe('loadSigner / loadPublicKey', () => {
  it('env://VAR holds a PEM; unencrypted keys are warned about', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const warnings: string[] = [];
    const env = { K: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const signer = await loadSigner('env://K', ctx(env, warnings));
    assert.equal(keyHint(signer.publicKey), keyHint(publicKey));
    assert.match(warnings.join('\n'), /unencrypted/);
    assert.equal(keyHint(await loadPublicKey('env://K', ctx(env))), keyHint(publicKey));
  });
  it('env:// with an unset variable → E_INPUT_MISSING; a missing file → E_INPUT_MISSING', async () => {
    await assert.rejects(loadSigner('env://NOPE', ctx()), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
    await assert.rejects(loadSigner('/nonexistent/cosign.key', ctx()), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
  });
});
