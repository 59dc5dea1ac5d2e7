// Leaf certificates as Fulcio issues them, judged by node:crypto, by @peculiar/asn1-x509 parsing the
// bytes back, and by the openssl CLI (x509 -text, verify -x509_strict).
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import {
  airlockRejection,
  generateTestKey,
  ISSUER_URL,
  makeTestCa,
  openssl,
  opensslVerify,
  testPrincipal,
  testSigner,
  type TestKeyKind,
} from '../../test/helpers/airlock-ca.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { type CertificateRequest, type IssuingCa, issueCertificate } from './certificate.ts';
import type { Principal } from './identity.ts';

const dir = useTempDir('airlock-ca-leaf-');
const NOW = new Date('2026-12-07T12:00:00.250Z');

function request(overrides: Partial<CertificateRequest> = {}): CertificateRequest {
  return {
    publicKey: generateTestKey('P-256').publicKey,
    principal: testPrincipal(),
    notBefore: NOW,
    validitySeconds: 600,
    serial: randomBytes(20),
    ...overrides,
  };
}

function extensionsOf(der: Uint8Array) {
  return AsnConvert.parse(der, Certificate).tbsCertificate.extensions ?? [];
}

function extensionValue(der: Uint8Array, oid: string): Buffer {
  const ext = extensionsOf(der).find((e) => e.extnID === oid);
  assert.ok(ext, `no extension ${oid}`);
  return Buffer.from(ext.extnValue.buffer);
}

/** The serial number's INTEGER content octets, as encoded. */
function serialHex(der: Uint8Array): string {
  return Buffer.from(AsnConvert.parse(der, Certificate).tbsCertificate.serialNumber).toString('hex');
}

/** The TBSCertificate's issuer and the CA's subject as the bytes they are, from openssl's own parse. */
async function nameDer(pem: string, which: 'issuer' | 'subject'): Promise<string> {
  const file = join(dir, `${randomBytes(4).toString('hex')}.pem`);
  await writeFile(file, pem);
  return openssl(['x509', '-in', file, '-noout', `-${which}`, '-nameopt', 'RFC2253,dump_der,dump_all']);
}

describe('issueCertificate', () => {
  it('lays the leaf out as Fulcio: issuer, 10 minutes from notBefore, empty subject, extensions in order', async () => {
    const ca = await makeTestCa({ now: NOW });
    const req = request();
    const { der, pem } = await issueCertificate(ca, req);
    const cert = new X509Certificate(der);
    assert.equal(cert.toString(), new X509Certificate(pem).toString());
    assert.equal(cert.issuer, ca.certificate.subject);
    assert.equal(AsnConvert.parse(der, Certificate).tbsCertificate.subject.length, 0);
    assert.equal(cert.validFromDate.toISOString(), '2026-12-07T12:00:00.000Z');
    assert.equal(cert.validToDate.getTime() - cert.validFromDate.getTime(), 10 * 60 * 1000);
    assert.ok(cert.checkIssued(ca.certificate) && cert.verify(ca.certificate.publicKey));
    assert.ok(cert.publicKey.equals(req.publicKey));
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.3']);
    assert.equal(cert.subjectAltName, 'email:dev@airlock.test');
    const layout = [...extensionsOf(der)].map((e) => `${e.extnID}${e.critical ? ' critical' : ''}`);
    assert.deepEqual(layout, [
      '2.5.29.15 critical', // keyUsage
      '2.5.29.37', // extKeyUsage
      '2.5.29.14', // subjectKeyIdentifier
      '2.5.29.35', // authorityKeyIdentifier
      '2.5.29.17 critical', // subjectAltName
      '1.3.6.1.4.1.57264.1.1',
      '1.3.6.1.4.1.57264.1.8',
      '1.3.6.1.4.1.57264.1.24',
    ]);
  });

  it('reports the serial and validity the certificate carries, as node reads them back', async () => {
    const ca = await makeTestCa({ now: NOW });
    for (const first of [0x00, 0x01, 0x80, 0xff]) {
      const serial = Buffer.concat([Buffer.of(first, 0x00), randomBytes(18)]);
      const issued = await issueCertificate(ca, { ...request(), serial });
      const cert = new X509Certificate(issued.der);
      assert.equal(issued.serialHex, cert.serialNumber, `serial starting ${first.toString(16)}`);
      assert.equal(issued.notBefore.getTime(), cert.validFromDate.getTime());
      assert.equal(issued.notAfter.getTime(), cert.validToDate.getTime());
    }
  });

  it('puts 1.1 as raw bytes and 1.8 onwards as DER UTF8String', async () => {
    const ca = await makeTestCa({ now: NOW });
    const { der } = await issueCertificate(ca, request());
    const value = (oid: string) => extensionValue(der, oid);
    assert.deepEqual(value('1.3.6.1.4.1.57264.1.1'), Buffer.from(ISSUER_URL));
    assert.deepEqual(
      value('1.3.6.1.4.1.57264.1.8'),
      Buffer.concat([Buffer.of(0x0c, ISSUER_URL.length), Buffer.from(ISSUER_URL)]),
    );
  });

  it("repeats the CA's SKI byte for byte as the leaf's AKI", async () => {
    const ca = await makeTestCa({ now: NOW });
    const { der } = await issueCertificate(ca, request());
    const caSki = extensionValue(ca.certificate.raw, '2.5.29.14');
    const leafAki = extensionValue(der, '2.5.29.35');
    // AKI = SEQUENCE { [0] keyIdentifier }, SKI = OCTET STRING: the identifier bytes follow the 2-byte headers.
    assert.equal(caSki.length, 22);
    assert.deepEqual(leafAki.subarray(4), caSki.subarray(2));
  });

  it('carries a URI SAN for URI identities', async () => {
    const ca = await makeTestCa({ now: NOW });
    const uri = 'https://kubernetes.io/namespaces/build/serviceaccounts/ci';
    const { der } = await issueCertificate(ca, request({ principal: testPrincipal({ kind: 'uri', value: uri }) }));
    assert.equal(new X509Certificate(der).subjectAltName, `URI:${uri}`);
  });

  for (const [kind, algorithm] of [
    ['P-384', 'ecdsa-with-SHA384'],
    ['ed25519', 'ED25519'],
    ['rsa-2048', 'sha256WithRSAEncryption'],
  ] as Array<[TestKeyKind, string]>) {
    it(`signs with a ${kind} CA key as ${algorithm}, which openssl verifies`, async () => {
      const ca = await makeTestCa({ root: kind, now: new Date() });
      const { pem } = await issueCertificate(ca, request({ notBefore: new Date() }));
      const file = join(dir, `leaf-${kind}.pem`);
      await writeFile(file, pem);
      assert.match(
        await openssl(['x509', '-in', file, '-noout', '-text']),
        new RegExp(`Signature Algorithm: ${algorithm}`),
      );
      assert.match(await opensslVerify(dir, pem, ca.chainPem), /: OK\n$/);
    });
  }

  it('shows Fulcio OIDs and criticality in openssl x509 -text; openssl verifies it via an intermediate', async () => {
    const ca = await makeTestCa({ root: 'P-384', intermediate: 'P-256', now: new Date() });
    const { pem } = await issueCertificate(ca, request({ notBefore: new Date() }));
    const file = join(dir, 'leaf-via-intermediate.pem');
    await writeFile(file, pem);
    const text = await openssl(['x509', '-in', file, '-noout', '-text']);
    for (const expected of [
      'X509v3 Key Usage: critical',
      'Code Signing',
      'X509v3 Subject Alternative Name: critical',
      'email:dev@airlock.test',
      '1.3.6.1.4.1.57264.1.1:',
      '1.3.6.1.4.1.57264.1.8:',
      '1.3.6.1.4.1.57264.1.24:',
    ]) {
      assert.ok(text.includes(expected), `openssl x509 -text lacks '${expected}':\n${text}`);
    }
    assert.doesNotMatch(text, /57264[^\n]*critical/);
    assert.match(await opensslVerify(dir, pem, ca.chainPem), /: OK\n$/);
    await assert.rejects(opensslVerify(dir, pem, [ca.rootPem]), /unable to get local issuer certificate/);
  });

  it("keeps the issuing CA's subject bytes, string types included", async () => {
    const keyFile = join(dir, 'mixed-root.key');
    const rootFile = join(dir, 'mixed-root.pem');
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
    await openssl([
      ...['req', '-x509', '-new', '-key', keyFile, '-out', rootFile, '-days', '2', '-utf8'],
      ...['-subj', '/C=DE/O=Prüfstelle/CN=mixed root', '-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign', '-addext', 'subjectKeyIdentifier=hash'],
    ]);
    const rootPem = await readFile(rootFile, 'utf8');
    const signer = createKeyObjectSigner(createPrivateKey(await readFile(keyFile)), 'ecdsa-sha2-256-nistp256', 'k');
    const ca: IssuingCa = { signer, certificate: new X509Certificate(rootPem), chainPem: [rootPem] };
    const { pem } = await issueCertificate(ca, request({ notBefore: new Date() }));
    const issuer = await nameDer(pem, 'issuer');
    assert.match(issuer, /#13024445/); // C as PrintableString, as openssl wrote it
    assert.equal(issuer.replace(/^issuer=/, ''), (await nameDer(rootPem, 'subject')).replace(/^subject=/, ''));
  });

  it('draws a positive serial of at most 20 bytes from the random bytes', async () => {
    const ca = await makeTestCa({ now: NOW });
    const high = Buffer.alloc(20, 0xff);
    const { der } = await issueCertificate(ca, request({ serial: high }));
    assert.equal(serialHex(der), `7f${'ff'.repeat(19)}`);
    const leadingZero = Buffer.concat([Buffer.of(0x00, 0x80), Buffer.alloc(18, 1)]);
    const second = await issueCertificate(ca, request({ serial: leadingZero }));
    // The zero octet is dropped; the sign octet then needed keeps the INTEGER positive.
    assert.equal(serialHex(second.der), `0080${'01'.repeat(18)}`);
  });
});

describe('issueCertificate refuses', () => {
  async function refusal(ca: IssuingCa, req: CertificateRequest): Promise<string> {
    return (await airlockRejection(issueCertificate(ca, req))).code;
  }

  it('a SAN that is not printable ASCII (IA5String)', async () => {
    const ca = await makeTestCa({ now: NOW });
    const principal = testPrincipal({ kind: 'email', value: 'jürgen@airlock.test' });
    assert.equal(await refusal(ca, request({ principal })), 'E_OIDC_TOKEN');
  });

  it('an extension outside the Sigstore arc, or one given twice', async () => {
    const ca = await makeTestCa({ now: NOW });
    const base = testPrincipal();
    const outside: Principal = { ...base, extensions: [{ oid: '2.5.29.17', encoding: 'raw', value: 'x' }] };
    assert.equal(await refusal(ca, request({ principal: outside })), 'E_INTERNAL');
    const twice: Principal = { ...base, extensions: [...base.extensions, ...base.extensions.slice(0, 1)] };
    assert.equal(await refusal(ca, request({ principal: twice })), 'E_INTERNAL');
  });

  it('a certificate that would outlive its CA, or start before it', async () => {
    const ca = await makeTestCa({ now: NOW });
    const late = new Date(ca.certificate.validToDate.getTime() - 60_000);
    assert.equal(await refusal(ca, request({ notBefore: late })), 'E_CERT_VALIDITY');
    assert.equal(await refusal(ca, request({ notBefore: new Date(NOW.getTime() - 60_000) })), 'E_CERT_VALIDITY');
  });

  it('too few random bytes for the serial, or a validity that is not a positive whole number', async () => {
    const ca = await makeTestCa({ now: NOW });
    assert.equal(await refusal(ca, request({ serial: randomBytes(8) })), 'E_INTERNAL');
    assert.equal(await refusal(ca, request({ validitySeconds: 0 })), 'E_USAGE');
    assert.equal(await refusal(ca, request({ validitySeconds: 1.5 })), 'E_USAGE');
  });

  it('under a CA certificate without a subjectKeyIdentifier', async () => {
    const keyFile = join(dir, 'no-ski.key');
    const rootFile = join(dir, 'no-ski.pem');
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
    await openssl([
      ...['req', '-x509', '-new', '-key', keyFile, '-out', rootFile, '-days', '2', '-subj', '/CN=no ski'],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'subjectKeyIdentifier=none'],
    ]);
    const certificate = new X509Certificate(await readFile(rootFile));
    const ca: IssuingCa = { signer: testSigner('P-256'), certificate, chainPem: [] };
    assert.equal(await refusal(ca, request({ notBefore: new Date() })), 'E_INPUT_MALFORMED');
  });
});
