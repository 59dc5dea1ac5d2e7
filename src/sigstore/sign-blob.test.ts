import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dsse } from '@sigstore/core';
import { verifyWithSigstoreJs } from '../../test/helpers/sigstore.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { signingAlgorithmFor } from '../crypto/keys.ts';
import type { SigningAlgorithm } from '../crypto/signer.ts';
import { attestBlob, signBlob } from './sign-blob.ts';

const dir = useTempDir('airlock-sign-');

const KEYS: Array<[string, () => KeyObject, SigningAlgorithm?]> = [
  ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
  ['ECDSA P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
  ['Ed25519', () => generateKeyPairSync('ed25519').privateKey],
  ['RSA-2048 PKCS#1 v1.5', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
  ['RSA-4096 PKCS#1 v1.5', () => generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey],
  ['RSA-PSS 3072', () => generateKeyPairSync('rsa-pss', { modulusLength: 3072 }).privateKey],
];

function signerFor(key: KeyObject, preferred?: SigningAlgorithm) {
  return createKeyObjectSigner(key, signingAlgorithmFor(key, preferred), 'test key');
}

const publicOf = (s: { publicKey: KeyObject }) => s.publicKey;

describe('signBlob → @sigstore/verify', () => {
  const artifact = randomBytes(1000);
  for (const [name, make, preferred] of KEYS) {
    it(`${name}: the bundle is v0.3 with the cosign key hint and verifies`, async () => {
      const signer = signerFor(make(), preferred);
      const { bundle } = await signBlob({ data: artifact }, { signer });
      assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      const spki = signer.publicKey.export({ type: 'spki', format: 'der' });
      assert.equal(bundle.verificationMaterial.publicKey?.hint, createHash('sha256').update(spki).digest('base64'));
      if (name === 'Ed25519') {
        // @sigstore/verify 4.1.3 hashes the artifact with the bundle's digest algorithm before an
        // Ed25519 verify, which OpenSSL refuses: a known gap, closed by airlock's own verifier. The
        // signature is pure Ed25519 over the bytes, as sigstore-go and cosign expect.
        assert.throws(() => verifyWithSigstoreJs(bundle, artifact, publicOf(signer)), /signature/i);
        const sig = Buffer.from(bundle.messageSignature?.signature ?? '', 'base64');
        assert.ok(verify(null, artifact, signer.publicKey, sig));
        return;
      }
      verifyWithSigstoreJs(bundle, artifact, publicOf(signer));
      assert.throws(() => verifyWithSigstoreJs(bundle, Buffer.concat([artifact, Buffer.from('x')]), publicOf(signer)));
    });
  }

  it('P-384 bundles record a SHA-384 message digest', async () => {
    const { bundle } = await signBlob({ data: artifact }, { signer: signerFor(KEYS[1]![1]()) });
    assert.equal(bundle.messageSignature?.messageDigest?.algorithm, 'SHA2_384');
  });

  it('large files are read once and signed over the digest (ECDSA) or streamed (RSA)', async () => {
    const path = join(dir, 'big.bin');
    const data = randomBytes(20 * 1024 * 1024);
    await writeFile(path, data);
    for (const key of [KEYS[0]![1](), KEYS[3]![1]()]) {
      const signer = signerFor(key);
      let progressed = 0;
      const { bundle } = await signBlob({ path }, { signer, onProgress: (n) => (progressed = n) });
      assert.equal(progressed, data.length);
      verifyWithSigstoreJs(bundle, data, publicOf(signer));
    }
  });
});

describe('attestBlob → @sigstore/verify', () => {
  for (const [name, make, preferred] of KEYS) {
    it(`${name}: DSSE over an in-toto Statement whose subject is the file`, async () => {
      const path = join(dir, 'app.tar');
      await writeFile(path, 'payload bytes');
      const signer = signerFor(make(), preferred);
      const predicate = { builder: { id: 'test' } };
      const { bundle, statement } = await attestBlob(
        { path },
        { signer, predicateType: 'https://slsa.dev/provenance/v1', predicate },
      );
      assert.deepEqual(statement.subject, [
        { name: 'app.tar', digest: { sha256: createHash('sha256').update('payload bytes').digest('hex') } },
      ]);
      const envelope = bundle.dsseEnvelope!;
      assert.equal(envelope.payloadType, 'application/vnd.in-toto+json');
      assert.deepEqual(JSON.parse(Buffer.from(envelope.payload, 'base64').toString()).predicate, predicate);
      if (name === 'ECDSA P-384') {
        // @sigstore/verify 4.1.3 verifies DSSE with node's default digest (SHA-256) whatever the
        // curve, so P-384/SHA-384 envelopes fail there: a known gap, closed by airlock's verifier.
        assert.throws(() => verifyWithSigstoreJs(bundle, undefined, publicOf(signer)));
        const pae = dsse.preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
        assert.ok(verify('sha384', pae, signer.publicKey, Buffer.from(envelope.signatures[0]!.sig, 'base64')));
        return;
      }
      verifyWithSigstoreJs(bundle, undefined, publicOf(signer));
    });
  }
});
