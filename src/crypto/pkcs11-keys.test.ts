import assert from 'node:assert/strict';
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { ecPublicKey, rsaPublicKey } from './pkcs11-keys.ts';

const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const P384_PARAMS = Buffer.from('06052b81040022', 'hex');
const SECP256K1_PARAMS = Buffer.from('06052b8104000a', 'hex');

function ecPoint(curve: 'P-256' | 'P-384') {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey;
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  // CKA_EC_POINT as PKCS#11 specifies it: a DER OCTET STRING around the point.
  return { publicKey, point, wrapped: Buffer.concat([Buffer.from([0x04, point.length]), point]) };
}

const pkcs11 = (e: unknown) => isAirlockError(e, 'E_PKCS11');

describe('ecPublicKey', () => {
  it('rebuilds P-256 and P-384 keys from a DER-wrapped point', () => {
    for (const [curve, params, algorithm] of [
      ['P-256', P256_PARAMS, 'ecdsa-sha2-256-nistp256'],
      ['P-384', P384_PARAMS, 'ecdsa-sha2-384-nistp384'],
    ] as const) {
      const { publicKey, wrapped } = ecPoint(curve);
      const key = ecPublicKey(params, wrapped);
      assert.equal(key.algorithm, algorithm);
      assert.ok(key.publicKey.equals(publicKey));
    }
  });

  it('accepts the bare point older tokens return', () => {
    const { publicKey, point } = ecPoint('P-256');
    assert.ok(ecPublicKey(P256_PARAMS, point).publicKey.equals(publicKey));
  });

  it('accepts a bare point that also parses as an OCTET STRING (x starts with 0x3f)', () => {
    for (let i = 0; i < 20_000; i++) {
      const { publicKey, point } = ecPoint('P-256');
      if (point[1] !== point.length - 2) continue;
      assert.ok(ecPublicKey(P256_PARAMS, point).publicKey.equals(publicKey));
      return;
    }
    assert.fail('no key with x[0] = 0x3f in 20000 tries');
  });

  it('refuses other curves, explicit parameters and points off the curve', () => {
    const { wrapped } = ecPoint('P-256');
    assert.throws(
      () => ecPublicKey(SECP256K1_PARAMS, wrapped),
      (e) => pkcs11(e) && /1\.3\.132\.0\.10 is not supported/.test((e as Error).message),
    );
    assert.throws(() => ecPublicKey(Buffer.from('3000', 'hex'), wrapped), pkcs11);
    const bad = Buffer.from(wrapped);
    bad[bad.length - 1]! ^= 1;
    assert.throws(
      () => ecPublicKey(P256_PARAMS, bad),
      (e) => pkcs11(e) && /invalid P-256 public key point/.test((e as Error).message),
    );
  });
});

describe('rsaPublicKey', () => {
  it('rebuilds the key and names the algorithm by its size', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey;
    const key = rsaPublicKey(Buffer.from(jwk.n ?? '', 'base64url'), Buffer.from(jwk.e ?? '', 'base64url'));
    assert.equal(key.algorithm, 'rsa-sign-pkcs1-3072-sha256');
    assert.equal(key.signatureLength, 384);
    assert.ok(key.publicKey.equals(publicKey));
  });

  it('refuses sizes Sigstore has no algorithm for', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey;
    assert.throws(
      () => rsaPublicKey(Buffer.from(jwk.n ?? '', 'base64url'), Buffer.from(jwk.e ?? '', 'base64url')),
      (e) => pkcs11(e) && /1024 bits/.test((e as Error).message),
    );
  });
});
