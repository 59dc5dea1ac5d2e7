import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate } from '@peculiar/asn1-x509';
import { airlockRejection, makeTestCa, opensslVerify, testSigner } from '../../test/helpers/airlock-ca.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../errors.ts';
import { type CaCertificateOptions, createCaCertificate } from './ca-certificate.ts';
import { checkCaChain } from './ca-chain.ts';
import { parseDistinguishedName } from './distinguished-name.ts';

const dir = useTempDir('airlock-ca-cert-');
const NOW = new Date('2026-12-07T12:00:00Z');

function extensions(cert: X509Certificate) {
  return [...(AsnConvert.parse(cert.raw, Certificate).tbsCertificate.extensions ?? [])];
}

function layout(cert: X509Certificate): string[] {
  return extensions(cert).map((e) => `${e.extnID}${e.critical ? ' critical' : ''}`);
}

function pathLength(cert: X509Certificate): number | undefined {
  const value = extensions(cert).find((e) => e.extnID === '2.5.29.19')?.extnValue.buffer;
  return AsnConvert.parse(value ?? new ArrayBuffer(0), BasicConstraints).pathLenConstraint;
}

describe('createCaCertificate', () => {
  it('makes a self-signed root: CA, keyCertSign + cRLSign, SKI, no AKI, valid for the days asked', async () => {
    const signer = testSigner('P-256');
    const pem = await createCaCertificate({
      signer,
      subject: 'O=airlock test,OU=ca,CN=root',
      validityDays: 3650,
      now: NOW,
      serial: randomBytes(20),
    });
    const root = new X509Certificate(pem);
    assert.equal(root.subject, 'O=airlock test\nOU=ca\nCN=root');
    assert.equal(root.issuer, root.subject);
    assert.ok(root.ca && root.checkIssued(root) && root.verify(signer.publicKey));
    assert.equal(root.validToDate.getTime() - root.validFromDate.getTime(), 3650 * 86_400_000);
    assert.deepEqual(layout(root), ['2.5.29.19 critical', '2.5.29.15 critical', '2.5.29.14']);
    assert.equal(root.keyUsage, undefined);
    assert.equal(pathLength(root), undefined);
    checkCaChain([root], NOW, 'root');
  });

  it('an intermediate: codeSigning EKU, pathLen 0, AKI = issuer SKI, which openssl verifies', async () => {
    const now = new Date();
    const ca = await makeTestCa({ root: 'P-384', intermediate: 'ed25519', now });
    const [intermediate, root] = ca.chainPem.map((p) => new X509Certificate(p)) as [X509Certificate, X509Certificate];
    assert.ok(intermediate.checkIssued(root) && intermediate.verify(root.publicKey));
    assert.deepEqual(layout(intermediate), [
      '2.5.29.19 critical',
      '2.5.29.15 critical',
      '2.5.29.37',
      '2.5.29.14',
      '2.5.29.35',
    ]);
    assert.deepEqual(intermediate.keyUsage, ['1.3.6.1.5.5.7.3.3']);
    assert.equal(pathLength(intermediate), 0);
    checkCaChain([intermediate, root], now, 'chain');
    assert.match(await opensslVerify(dir, ca.chainPem[0] as string, [ca.rootPem]), /: OK\n$/);
  });

  async function refusal(options: Partial<CaCertificateOptions>): Promise<string> {
    const promise = createCaCertificate({
      signer: testSigner('P-256'),
      subject: 'CN=x',
      validityDays: 10,
      now: NOW,
      serial: randomBytes(20),
      ...options,
    });
    return (await airlockRejection(promise)).code;
  }

  it('refuses a validity past the issuer, or outside 1 day to 100 years', async () => {
    const ca = await makeTestCa({ now: NOW });
    assert.equal(await refusal({ issuer: ca, validityDays: 366 }), 'E_USAGE');
    assert.equal(await refusal({ validityDays: 0 }), 'E_USAGE');
    assert.equal(await refusal({ validityDays: 36501 }), 'E_USAGE');
  });

  it('refuses an issuer key that is not the issuer certificate’s', async () => {
    const ca = await makeTestCa({ now: NOW });
    assert.equal(
      await refusal({ issuer: { signer: testSigner('P-256'), certificate: ca.certificate } }),
      'E_KEY_MISMATCH',
    );
  });
});

describe('parseDistinguishedName', () => {
  const der = (text: string) => Buffer.from(AsnConvert.serialize(parseDistinguishedName(text))).toString('hex');

  it('keeps the order written, C as PrintableString, the rest UTF8String, with \\, escapes', () => {
    const name = parseDistinguishedName('C=DE, O=Example\\, Inc., CN=Example CA');
    assert.equal(name.length, 3);
    assert.deepEqual(
      [...name].map((rdn) => rdn[0]?.value.toString()),
      ['DE', 'Example, Inc.', 'Example CA'],
    );
    assert.ok(der('C=DE').endsWith('060355040613024445')); // OID 2.5.4.6, PrintableString "DE"
    assert.ok(der('CN=a').endsWith('06035504030c0161')); // OID 2.5.4.3, UTF8String "a"
  });

  for (const bad of ['', 'CN', 'X=1', 'CN=', 'C=Germany', 'CN=x,DC=y', `CN=${'a'.repeat(65)}`]) {
    it(`refuses '${bad.slice(0, 20)}' with E_USAGE`, () => {
      assert.throws(
        () => parseDistinguishedName(bad),
        (e) => isAirlockError(e, 'E_USAGE'),
      );
    });
  }
});
