// The certificate caches of ca-cache.ts work through the library's public classes: the trust material
// the library built is left exactly as it was, and a remembering certificate answers as the original.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from '@sigstore/core';
import { createPrivateCa, type PrivateCa } from '../../test/helpers/private-ca.ts';
import { CaCertificate, LeafCertificate, withRememberingCas } from './ca-cache.ts';

let ca: PrivateCa;
before(async () => {
  ca = await createPrivateCa();
});
after(() => ca.cleanup());

describe('ca-cache', () => {
  it('copies trust material with remembering certificates; the library objects and prototypes are untouched', () => {
    const root = X509Certificate.parse(Buffer.from(ca.rootDer));
    const material = {
      certificateAuthorities: [{ certChain: [root], validFor: { start: new Date(0), end: new Date(8.64e15) } }],
      timestampAuthorities: [],
    } as never;
    const before = Object.getOwnPropertyNames(root).sort();
    const protoVerify = X509Certificate.prototype.verify;
    const copy = withRememberingCas(material) as unknown as {
      certificateAuthorities: Array<{ certChain: X509Certificate[] }>;
    };
    const cert = copy.certificateAuthorities[0]?.certChain[0];
    assert.ok(cert instanceof CaCertificate);
    assert.notEqual(cert, root);
    assert.deepEqual(Object.getOwnPropertyNames(root).sort(), before, 'no property added to the library object');
    assert.equal(X509Certificate.prototype.verify, protoVerify);
    assert.ok(cert.root.toDER().equals(root.root.toDER()), 'the same DER');
    assert.ok(cert.publicKey.equals(root.publicKey));
    assert.equal(cert.verify(), root.verify(), 'self-signed check, as the original answers');
    assert.equal(cert.verify(), true);
  });

  it('a leaf verified by a CA is remembered by its DER: a copy differing in one byte is checked afresh', async () => {
    const root = X509Certificate.parse(Buffer.from(ca.rootDer));
    const material = withRememberingCas({
      certificateAuthorities: [{ certChain: [root], validFor: { start: new Date(0), end: new Date(8.64e15) } }],
      timestampAuthorities: [],
    } as never) as unknown as { certificateAuthorities: Array<{ certChain: CaCertificate[] }> };
    const caCert = material.certificateAuthorities[0]?.certChain[0] as CaCertificate;
    const leaf = await ca.issueLeaf({ san: 'a@example.com', issuer: 'https://issuer.example' });
    const good = new LeafCertificate(X509Certificate.parse(Buffer.from(leaf.certDer)));
    assert.equal(good.verify(caCert), true);
    assert.equal(caCert.leaves.size, 1);
    const forged = Buffer.from(leaf.certDer);
    forged[forged.length - 1]! ^= 0x01;
    assert.equal(new LeafCertificate(X509Certificate.parse(Buffer.from(forged))).verify(caCert), false);
    assert.equal(caCert.leaves.size, 1, 'a failed check is never remembered');
  });

  it(
    'a clone changed as the SCT check changes it encodes as the library would; the original keeps ' + 'its bytes',
    async () => {
      const leaf = await ca.issueLeaf({ san: 'b@example.com', issuer: 'https://issuer.example' });
      const plain = X509Certificate.parse(Buffer.from(leaf.certDer));
      const ours = new LeafCertificate(X509Certificate.parse(Buffer.from(leaf.certDer)));
      const original = ours.tbsCertificate.toDER();
      const [a, b] = [plain.clone(), ours.clone()];
      assert.ok(a.tbsCertificate.toDER().equals(b.tbsCertificate.toDER()), 'unchanged: the same bytes');
      a.extensions.splice(0, 1);
      b.extensions.splice(0, 1);
      assert.ok(
        a.tbsCertificate.toDER().equals(b.tbsCertificate.toDER()),
        'changed: re-encoded exactly as the library does',
      );
      assert.ok(!b.tbsCertificate.toDER().equals(original));
      assert.ok(ours.tbsCertificate.toDER().equals(original), 'the original is untouched by changes to its clone');
    },
  );
});
