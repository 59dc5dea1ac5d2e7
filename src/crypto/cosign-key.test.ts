import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, scryptSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { isAirlockError } from '../errors.ts';
import { COSIGN_PEM_TYPE, decryptCosignKey, encryptCosignKey, SIGSTORE_PEM_TYPE } from './cosign-key.ts';
import { encodePem, parseSinglePem } from './pem.ts';

const fixture = (name: string) => readFile(new URL(`../../test/fixtures/cosign/${name}`, import.meta.url), 'utf8');
const hello = Buffer.from('hello');

/** An independent writer of cosign's format (tweetnacl secretbox), to prove we read keys we did not make. */
function foreignCosignKey(pkcs8: Buffer, password: Buffer, N: number, type: string): string {
  const salt = Buffer.alloc(32, 7);
  const nonce = Buffer.alloc(24, 9);
  const key = scryptSync(password, salt, 32, { N, r: 8, p: 1, maxmem: 512 * 1024 * 1024 });
  const box = Buffer.from(nacl.secretbox(pkcs8, nonce, key));
  const json =
    `{"kdf":{"name":"scrypt","params":{"N":${N},"r":8,"p":1},"salt":"${salt.toString('base64')}` +
    `"},"cipher":{"name":"nacl/secretbox","nonce":"${nonce.toString('base64')}` +
    `"},"ciphertext":"${box.toString('base64')}"}`;
  return encodePem(type, Buffer.from(json));
}

describe('decryptCosignKey', () => {
  for (const name of ['pemcosignkey.key', 'pemsigstorekey.key']) {
    it(`loads cosign's own test vector ${name} with password "hello"`, async () => {
      const der = await decryptCosignKey(await fixture(name), hello);
      const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    });
    it(`${name} with a wrong password → E_KEY_PASSWORD`, async () => {
      await assert.rejects(decryptCosignKey(await fixture(name), Buffer.from('nope')), (e) =>
        isAirlockError(e, 'E_KEY_PASSWORD'),
      );
    });
  }

  for (const N of [32768, 65536, 131072]) {
    for (const type of [COSIGN_PEM_TYPE, SIGSTORE_PEM_TYPE]) {
      it(`reads a foreign-made ${type} with N=${N}`, async () => {
        const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          type: 'pkcs8',
          format: 'der',
        });
        const pem = foreignCosignKey(pkcs8, hello, N, type);
        assert.deepEqual(await decryptCosignKey(pem, hello), pkcs8);
        await assert.rejects(decryptCosignKey(pem, Buffer.from('hellO')), (e) => isAirlockError(e, 'E_KEY_PASSWORD'));
      });
    }
  }

  it('refuses scrypt parameters Go refuses', async () => {
    const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'der',
    });
    await assert.rejects(decryptCosignKey(foreignCosignKey(pkcs8, hello, 16384, COSIGN_PEM_TYPE), hello), (e) =>
      isAirlockError(e, 'E_KEY_UNSUPPORTED'),
    );
  });

  it('rejects garbage bodies as malformed, not as a wrong password', async () => {
    await assert.rejects(decryptCosignKey(encodePem(COSIGN_PEM_TYPE, Buffer.from('not json')), hello), (e) =>
      isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
  });
});

describe('encryptCosignKey', () => {
  it("writes cosign's exact layout: compact JSON in Go field order, N=32768, 64-column PEM", async () => {
    const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'der',
    });
    const pem = await encryptCosignKey(pkcs8, hello, { random: (n) => Buffer.alloc(n, 1) });
    const block = parseSinglePem(pem, 'key');
    assert.equal(block.type, 'ENCRYPTED COSIGN PRIVATE KEY');
    assert.match(
      block.der.toString(),
      // eslint-disable-next-line max-len -- a whole message or wire format, matched as one regular expression
      /^\{"kdf":\{"name":"scrypt","params":\{"N":32768,"r":8,"p":1\},"salt":"AQEB[^"]+"\},"cipher":\{"name":"nacl\/secretbox","nonce":"AQEB[^"]+"\},"ciphertext":"[^"]+"\}$/,
    );
    assert.ok(pem.split('\n').every((l) => l.length <= 64));
    // tweetnacl opens what we sealed: the ciphertext is Go's secretbox layout (tag ‖ data).
    const doc = JSON.parse(block.der.toString());
    const key = scryptSync(hello, Buffer.from(doc.kdf.salt, 'base64'), 32, { N: 32768, r: 8, p: 1, maxmem: 2 ** 28 });
    const opened = nacl.secretbox.open(
      Buffer.from(doc.ciphertext, 'base64'),
      Buffer.from(doc.cipher.nonce, 'base64'),
      key,
    );
    assert.deepEqual(Buffer.from(opened ?? []), pkcs8);
  });

  it('round-trips, also with the empty password', async () => {
    const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' });
    for (const pw of [hello, Buffer.alloc(0)]) {
      assert.deepEqual(await decryptCosignKey(await encryptCosignKey(pkcs8, pw), pw), pkcs8);
    }
  });
});
