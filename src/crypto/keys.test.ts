import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { keyHint, loadPrivateKeyPem, loadPublicKeyPem, signingAlgorithmFor } from './keys.ts';

const hello = async () => Buffer.from('hello');
const noPassword = async (): Promise<Uint8Array> => {
  throw new Error('must not ask for a password');
};

describe('loadPrivateKeyPem', () => {
  it('refuses a cosign envelope around SEC1, as cosign does', async () => {
    const pem = await readFile(new URL('../../test/fixtures/cosign/pemcosigneckey.key', import.meta.url), 'utf8');
    await assert.rejects(loadPrivateKeyPem(pem, 'k', hello), (e) => isAirlockError(e, 'E_KEY_UNSUPPORTED'));
  });

  it('loads unencrypted PKCS#8, SEC1 and PKCS#1 keys without a password and says they are unencrypted', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    for (const pem of [
      ec.export({ type: 'pkcs8', format: 'pem' }),
      ec.export({ type: 'sec1', format: 'pem' }),
      rsa.export({ type: 'pkcs1', format: 'pem' }),
    ]) {
      const loaded = await loadPrivateKeyPem(pem.toString(), 'k', noPassword);
      assert.equal(loaded.encrypted, false);
    }
  });

  it('loads PBES2-encrypted PKCS#8 with the password', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const pem = ec.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'hello' }).toString();
    assert.equal((await loadPrivateKeyPem(pem, 'k', hello)).encrypted, true);
    await assert.rejects(
      loadPrivateKeyPem(pem, 'k', async () => Buffer.from('x')),
      (e) => isAirlockError(e, 'E_KEY_PASSWORD'),
    );
  });

  it('a public key where a private key is needed is malformed input with a hint', async () => {
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
    await assert.rejects(loadPrivateKeyPem(pub.toString(), 'k.pub', noPassword), (e) => {
      assert.ok(isAirlockError(e, 'E_INPUT_MALFORMED'));
      assert.match(e.hint ?? '', /private key/);
      return true;
    });
  });
});

describe('loadPublicKeyPem', () => {
  it('reads SPKI and derives the public half of a private key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const fromPub = await loadPublicKeyPem(
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      'k',
      noPassword,
    );
    const fromPriv = await loadPublicKeyPem(
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      'k',
      noPassword,
    );
    assert.equal(keyHint(fromPub), keyHint(fromPriv));
  });
});

describe('signingAlgorithmFor', () => {
  const cases = [
    [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ecdsa-sha2-256-nistp256'],
    [generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'ecdsa-sha2-384-nistp384'],
    [generateKeyPairSync('ed25519').privateKey, 'ed25519'],
    [generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey, 'rsa-sign-pkcs1-3072-sha256'],
    [generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey, 'rsa-sign-pss-2048-sha256'],
  ] as const;
  for (const [key, expected] of cases) {
    it(`${expected}`, () => assert.equal(signingAlgorithmFor(key), expected));
  }
  it('picks PSS for a plain RSA key when asked', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    assert.equal(signingAlgorithmFor(rsa, 'rsa-sign-pss-2048-sha256'), 'rsa-sign-pss-2048-sha256');
  });
  it('refuses P-521, small RSA, and an algorithm that does not fit the key', () => {
    assert.throws(
      () => signingAlgorithmFor(generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey),
      (e) => isAirlockError(e, 'E_KEY_UNSUPPORTED'),
    );
    assert.throws(
      () => signingAlgorithmFor(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey),
      (e) => isAirlockError(e, 'E_KEY_UNSUPPORTED'),
    );
    assert.throws(
      () => signingAlgorithmFor(generateKeyPairSync('ed25519').privateKey, 'ecdsa-sha2-256-nistp256'),
      (e) => isAirlockError(e, 'E_USAGE'),
    );
  });
});
