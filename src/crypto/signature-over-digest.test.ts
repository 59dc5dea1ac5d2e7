// Signatures checked over a digest alone, for every key type a hashedrekord takes: what node:crypto
// (or @noble/curves, for Ed25519ph) signed over the whole message must verify given only its digest,
// and anything else must answer false rather than throw. ECDSA's own edge cases are in
// ecdsa-over-digest.test.ts.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { ED25519PH_ABC } from '../../test/helpers/rfc8032.ts';
import type { DigestAlgorithm } from './digest.ts';
import { signatureOverDigest } from './signature-over-digest.ts';

const MESSAGE = Buffer.from('airlock release 1.2.3\n');

interface Signer {
  readonly name: string;
  readonly hash: DigestAlgorithm;
  readonly publicKey: KeyObject;
  readonly sign: (message: Uint8Array) => Uint8Array;
}

function nodeSigner(name: string, hash: DigestAlgorithm, pair: { publicKey: KeyObject; privateKey: KeyObject }) {
  return { name, hash, publicKey: pair.publicKey, sign: (m: Uint8Array) => sign(hash, m, pair.privateKey) };
}

function ed25519phSigner(): Signer {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  return { name: 'Ed25519ph', hash: 'sha512', publicKey, sign: (m) => ed25519ph.sign(m, seed) };
}

const SIGNERS: Signer[] = [
  nodeSigner('P-256', 'sha256', generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  nodeSigner('P-384', 'sha384', generateKeyPairSync('ec', { namedCurve: 'P-384' })),
  nodeSigner('P-521', 'sha512', generateKeyPairSync('ec', { namedCurve: 'P-521' })),
  nodeSigner('RSA-2048', 'sha256', generateKeyPairSync('rsa', { modulusLength: 2048 })),
  nodeSigner('RSA-3072', 'sha256', generateKeyPairSync('rsa', { modulusLength: 3072 })),
  nodeSigner('RSA-4096', 'sha256', generateKeyPairSync('rsa', { modulusLength: 4096 })),
  ed25519phSigner(),
];
const RSA = SIGNERS[3] as Signer;

const digestOf = (hash: DigestAlgorithm, message: Uint8Array) => createHash(hash).update(message).digest();

function flipped(bytes: Uint8Array): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length - 3] = (copy[copy.length - 3] ?? 0) ^ 0x01;
  return copy;
}

describe('signatureOverDigest', () => {
  for (const s of SIGNERS) {
    it(`${s.name}: accepts its signature given only the ${s.hash} digest; refuses another digest or signature`, () => {
      const check = signatureOverDigest(s.publicKey, s.hash);
      const digest = digestOf(s.hash, MESSAGE);
      const signature = s.sign(MESSAGE);
      assert.equal(check(digest, signature), true);
      assert.equal(check(flipped(digest), signature), false);
      assert.equal(check(digest, flipped(signature)), false);
      assert.equal(check(digestOf(s.hash, Buffer.from('another message')), signature), false);
    });
  }

  it('verifies RFC 8032 §7.3 (Ed25519ph, "abc") given only SHA-512("abc")', () => {
    const { publicKey, message, signature } = ED25519PH_ABC;
    const check = signatureOverDigest(publicKey, 'sha512');
    assert.equal(check(digestOf('sha512', message), signature), true);
    assert.equal(check(digestOf('sha512', Buffer.from('abd')), signature), false);
  });

  it('RSA: refuses a signature without its leading zero octet, as Go does', () => {
    const check = signatureOverDigest(RSA.publicKey, 'sha256');
    for (let i = 0; ; i += 1) {
      const message = Buffer.from(`release ${i}`);
      const signature = RSA.sign(message);
      if (signature[0] !== 0) continue;
      assert.equal(check(digestOf('sha256', message), signature), true);
      assert.equal(check(digestOf('sha256', message), signature.subarray(1)), false);
      return;
    }
  });

  it('RSA: answers false, not an error, for a digest of another size than its hash', () => {
    const check = signatureOverDigest(RSA.publicKey, 'sha256');
    assert.equal(check(digestOf('sha384', MESSAGE), RSA.sign(MESSAGE)), false);
  });

  it('answers false for a key that is neither EC, Ed25519 nor RSA', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed448');
    const check = signatureOverDigest(publicKey, 'sha512');
    assert.equal(check(digestOf('sha512', MESSAGE), sign(null, MESSAGE, privateKey)), false);
  });
});
