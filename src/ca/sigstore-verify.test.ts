// A leaf from issueCertificate, under an intermediate made by createCaCertificate, verified by plain
// @sigstore/verify (no airlock code on the verifying path): the chain, the identity and the issuer
// extension as sigstore-js reads them. The signing time comes from a real RFC 3161 TSA (openssl ts).
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bundleFromJSON, bundleToJSON, toMessageSignatureBundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { ISSUER_URL, makeTestCa, testPrincipal } from '../../test/helpers/airlock-ca.ts';
import { startTestTsa, type TestTsa } from '../../test/helpers/tsa.ts';
import { requestTimestamp } from '../sigstore/tsa.ts';
import { issueCertificate } from './certificate.ts';

const SAN = 'https://kubernetes.io/namespaces/build/serviceaccounts/release';
const artifact = Buffer.from('signed inside the gap\n');

let tsa: TestTsa;
let verifier: Verifier;
let bundleJson: unknown;

before(async () => {
  const now = new Date();
  tsa = await startTestTsa();
  const ca = await makeTestCa({ root: 'P-384', intermediate: 'P-256', now });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await issueCertificate(ca, {
    publicKey,
    principal: testPrincipal({ kind: 'uri', value: SAN }),
    notBefore: now,
    validitySeconds: 600,
    serial: randomBytes(20),
  });
  const signature = sign('sha256', artifact, privateKey);
  const digest = createHash('sha256').update(artifact).digest();
  const bundle = toMessageSignatureBundle({ digest, signature, certificate: Buffer.from(leaf.der) });
  bundle.verificationMaterial.timestampVerificationData = {
    rfc3161Timestamps: [{ signedTimestamp: Buffer.from(await requestTimestamp(signature, { url: tsa.url })) }],
  };
  bundleJson = bundleToJSON(bundle);
  const rawBytes = (pem: string) => ({ rawBytes: new X509Certificate(pem).raw.toString('base64') });
  const start = new Date(now.getTime() - 60_000).toISOString();
  const trustedRoot = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [
      {
        subject: { organization: 'airlock test', commonName: 'test root' },
        uri: 'https://ca.airlock.test',
        certChain: { certificates: ca.chainPem.map(rawBytes) },
        validFor: { start },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: 'airlock test', commonName: 'airlock test TSA' },
        uri: tsa.url,
        certChain: { certificates: tsa.certChainDer.map((d) => ({ rawBytes: Buffer.from(d).toString('base64') })) },
        validFor: { start },
      },
    ],
  });
  verifier = new Verifier(toTrustMaterial(trustedRoot), { tlogThreshold: 0, ctlogThreshold: 0 });
});
after(() => tsa?.stop());

describe('@sigstore/verify on a leaf airlock issued', () => {
  const entity = () => toSignedEntity(bundleFromJSON(bundleJson), artifact);

  it('verifies the chain and reports the SAN and the issuer extension', () => {
    const signer = verifier.verify(entity(), { subjectAlternativeName: SAN, extensions: { issuer: ISSUER_URL } });
    assert.equal(signer.identity?.subjectAlternativeName, SAN);
    assert.equal(signer.identity?.extensions?.issuer, ISSUER_URL);
  });

  it('refuses another identity or another issuer', () => {
    assert.throws(() => verifier.verify(entity(), { subjectAlternativeName: `${SAN}-other`, extensions: {} }));
    assert.throws(() =>
      verifier.verify(entity(), { subjectAlternativeName: SAN, extensions: { issuer: 'https://other.test' } }),
    );
  });
});
