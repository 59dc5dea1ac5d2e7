// verifyBlob, and the gaps of @sigstore/verify it closes. Each gap test shows both sides: plain
// @sigstore/verify accepting the bad input, and airlock refusing it with its code.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { bundleFromJSON, bundleToJSON, toMessageSignatureBundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { createPrivateCa, type PrivateCa } from '../../../test/helpers/private-ca.ts';
import { CONFORMANCE_DIR, sharedMissing } from '../../../test/helpers/shared.ts';
import { verifyWithSigstoreJs } from '../../../test/helpers/sigstore.ts';
import { startTestTsa, type TestTsa } from '../../../test/helpers/tsa.ts';
import { createKeyObjectSigner } from '../../crypto/key-object-signer.ts';
import { signingAlgorithmFor } from '../../crypto/keys.ts';
import { attestBlob, signBlob } from '../sign-blob.ts';
import { requestTimestamp } from '../tsa.ts';
import { verifiedSignatures } from './signature-content.ts';
import { parseTrustedRoot } from '../trusted-root.ts';
import { anchored } from './identity.ts';
import { type VerifyBlobOptions, verifyBlob } from './verify-blob.ts';

const SAN = 'https://ci.example/org/builder/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.ci.example';
const artifact = Buffer.from('the artifact\n');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest();
const B = Buffer.from('another artifact\n');

let ca: PrivateCa;
let tsa: TestTsa;
let keylessBundle: unknown;
let trustedRootJson: Record<string, unknown>;

const root = () => parseTrustedRoot(Buffer.from(JSON.stringify(trustedRootJson)), 'test root');
const identityOptions = (identity: object, issuer: object): VerifyBlobOptions => ({
  now: new Date(),
  trust: { kind: 'identity', policy: { identity, issuer } as never },
  trustedRoot: root(),
  tlogThreshold: 0,
  ctlogThreshold: 0,
  timestampThreshold: 1,
});
const keyOptions = (publicKey: KeyObject): VerifyBlobOptions => ({
  now: new Date(),
  trust: { kind: 'key', publicKey },
  tlogThreshold: 0,
  timestampThreshold: 0,
});

before(async () => {
  ca = await createPrivateCa();
  tsa = await startTestTsa();
  const leaf = await ca.issueLeaf({ san: SAN, issuer: ISSUER });
  const signature = sign('sha256', artifact, leaf.privateKey);
  const bundle = toMessageSignatureBundle({ digest: sha256(artifact), signature, certificate: leaf.certDer });
  bundle.verificationMaterial.timestampVerificationData = {
    rfc3161Timestamps: [{ signedTimestamp: Buffer.from(await requestTimestamp(signature, { url: tsa.url })) }],
  };
  keylessBundle = bundleToJSON(bundle);
  const start = new Date(Date.now() - 3_600_000).toISOString();
  trustedRootJson = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [
      {
        subject: { organization: 'airlock test', commonName: 'airlock test CA' },
        uri: 'https://ca.example',
        certChain: { certificates: [{ rawBytes: ca.rootDer.toString('base64') }] },
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
  };
});
after(async () => {
  await tsa?.stop();
  await ca?.cleanup();
});

describe('keyless verification with a pinned identity (private CA + RFC 3161 TSA)', () => {
  it('verifies with the exact identity and issuer, and reports who and when', async () => {
    const report = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      identityOptions({ exact: SAN }, { exact: ISSUER }),
    );
    assert.equal(report.ok, true, report.error?.message);
    assert.deepEqual(report.signer, { type: 'certificate', subjectAlternativeName: SAN, issuer: ISSUER });
    assert.equal(report.timestamps?.[0]?.source, 'tsa');
  });

  it('a root without a CT log, SCTs required: E_TRUST_ROOT naming --ctlog-threshold 0, not an SCT error', async () => {
    const plain = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(trustedRootJson)), {
      tlogThreshold: 0,
      ctlogThreshold: 1,
    });
    assert.throws(() => plain.verify(toSignedEntity(bundleFromJSON(keylessBundle), artifact)), /SCT/);
    const report = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      { ...identityOptions({ exact: SAN }, { exact: ISSUER }), ctlogThreshold: undefined },
    );
    assert.equal(report.ok, false);
    assert.equal(report.error?.code, 'E_TRUST_ROOT');
    assert.match(report.error?.message ?? '', /test root has no Certificate Transparency log/);
    assert.match(report.error?.hint ?? '', /--ctlog-threshold 0/);
  });

  // Attack: an identity pinned as "builder" must not accept any SAN that merely contains it.
  it('gap: identities match exactly, not as an unanchored regexp as @sigstore/verify does', async () => {
    const plain = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(trustedRootJson)), {
      tlogThreshold: 0,
      ctlogThreshold: 0,
    });
    const entity = toSignedEntity(bundleFromJSON(keylessBundle), artifact);
    assert.doesNotThrow(() =>
      plain.verify(entity, { subjectAlternativeName: 'builder', extensions: { issuer: ISSUER } }),
    );
    const report = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      identityOptions({ exact: 'builder' }, { exact: ISSUER }),
    );
    assert.equal(report.error?.code, 'E_IDENTITY_MISMATCH');
    const partial = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      identityOptions({ regexp: 'https://ci\\.example/org' }, { exact: ISSUER }),
    );
    assert.equal(partial.error?.code, 'E_IDENTITY_MISMATCH', 'regexps must match the whole SAN');
    const whole = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      identityOptions({ regexp: 'https://ci\\.example/org/.*' }, { regexp: 'https://token\\..*' }),
    );
    assert.equal(whole.ok, true);
    // Attack: a pattern that closes the anchoring group: wrapped as ^(?:…)$ it would match any SAN ending in "x".
    assert.throws(() => anchored('https://ci\\.example/org)|(?:.*x', '--certificate-identity-regexp'), {
      code: 'E_USAGE',
    });
    await assert.rejects(
      verifyBlob(
        { bytes: artifact },
        { json: keylessBundle },
        identityOptions({ regexp: 'nothing)|(?:.*main' }, { exact: ISSUER }),
      ),
      { code: 'E_USAGE' },
    );
  });

  // The CA remembers leaves it verified (ca-cache.ts); a leaf that differs in any byte — here its
  // signature, everything else (serial, subject, key) the same — must be checked afresh and refused.
  it('a leaf certificate already verified once does not vouch for a forged copy of itself', async () => {
    const options = identityOptions({ exact: SAN }, { exact: ISSUER });
    assert.equal((await verifyBlob({ bytes: artifact }, { json: keylessBundle }, options)).ok, true);
    const forged = structuredClone(keylessBundle) as { verificationMaterial: { certificate: { rawBytes: string } } };
    const der = Buffer.from(forged.verificationMaterial.certificate.rawBytes, 'base64');
    der[der.length - 1]! ^= 0x01; // last byte of the CA's ECDSA signature over the leaf
    forged.verificationMaterial.certificate.rawBytes = der.toString('base64');
    const report = await verifyBlob({ bytes: artifact }, { json: forged }, options);
    assert.equal(report.error?.code, 'E_CERT_CHAIN', report.error?.message);
    assert.equal((await verifyBlob({ bytes: artifact }, { json: keylessBundle }, options)).ok, true);
  });

  it('a wrong issuer is E_IDENTITY_MISMATCH with what was expected and found', async () => {
    const report = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      identityOptions({ exact: SAN }, { exact: 'https://accounts.example' }),
    );
    assert.equal(report.error?.code, 'E_IDENTITY_MISMATCH');
    assert.equal(report.error?.details?.found, ISSUER);
  });

  it('a CA outside its validity window at signing time is refused', async () => {
    const old = structuredClone(trustedRootJson) as { certificateAuthorities: Array<{ validFor: object }> };
    old.certificateAuthorities[0]!.validFor = { start: '2020-01-01T00:00:00Z', end: '2020-01-02T00:00:00Z' };
    const report = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      {
        ...identityOptions({ exact: SAN }, { exact: ISSUER }),
        trustedRoot: parseTrustedRoot(Buffer.from(JSON.stringify(old)), 'old root'),
      },
    );
    assert.match(report.error?.code ?? '', /^E_CERT_(CHAIN|VALIDITY)$/);
  });

  it('a keyless bundle with no verified timestamp is a verdict, not a crash, even with threshold 0', async () => {
    const bare = structuredClone(keylessBundle) as { verificationMaterial: { timestampVerificationData?: unknown } };
    delete bare.verificationMaterial.timestampVerificationData;
    for (const timestampThreshold of [0, 1]) {
      const report = await verifyBlob(
        { bytes: artifact },
        { json: bare },
        { ...identityOptions({ exact: SAN }, { exact: ISSUER }), timestampThreshold },
      );
      assert.equal(report.ok, false);
      assert.notEqual(report.error?.code, 'E_INTERNAL');
    }
  });
});

const signerOf = (key: KeyObject) => createKeyObjectSigner(key, signingAlgorithmFor(key), 'test');

describe('gaps closed around @sigstore/verify', () => {
  const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

  // Attack: a valid attestation about one artifact presented as vouching for another.
  it('DSSE: the in-toto subject must be the artifact', async () => {
    const signer = signerOf(p256());
    const { bundle } = await attestBlob(
      { data: Buffer.from('A'), name: 'a' },
      { signer, predicateType: 'https://example/p', predicate: {} },
    );
    verifyWithSigstoreJs(bundle, Buffer.from('B'), signer.publicKey); // plain @sigstore/verify: accepted
    const report = await verifyBlob({ bytes: Buffer.from('B') }, { json: bundle }, keyOptions(signer.publicKey));
    assert.equal(report.error?.code, 'E_ARTIFACT_MISMATCH');
    assert.equal(
      (await verifyBlob({ bytes: Buffer.from('A') }, { json: bundle }, keyOptions(signer.publicKey))).ok,
      true,
    );
  });

  // The statement is the signer's only once its signature verified: its predicate type is not
  // reported from a bundle that fails.
  it('reports the predicate type only of an attestation that verified', async () => {
    const signer = signerOf(p256());
    const { bundle } = await attestBlob(
      { data: Buffer.from('A') },
      { signer, predicateType: 'https://example/p', predicate: {} },
    );
    assert.equal(
      (await verifyBlob({ bytes: Buffer.from('A') }, { json: bundle }, keyOptions(signer.publicKey))).predicateType,
      'https://example/p',
    );
    const forged = structuredClone(bundle);
    const statement = JSON.parse(Buffer.from(forged.dsseEnvelope!.payload, 'base64').toString());
    statement.predicateType = 'https://example/forged';
    forged.dsseEnvelope!.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    const report = await verifyBlob({ bytes: Buffer.from('A') }, { json: forged }, keyOptions(signer.publicKey));
    assert.equal(report.error?.code, 'E_SIGNATURE_INVALID');
    assert.equal(report.predicateType, undefined);
  });

  it('--type requires that predicate type', async () => {
    const signer = signerOf(p256());
    const { bundle } = await attestBlob(
      { data: Buffer.from('A') },
      { signer, predicateType: 'https://spdx.dev/Document', predicate: {} },
    );
    const wrong = await verifyBlob(
      { bytes: Buffer.from('A') },
      { json: bundle },
      { ...keyOptions(signer.publicKey), predicateType: 'https://cyclonedx.org/bom' },
    );
    assert.equal(wrong.error?.code, 'E_PREDICATE_TYPE');
  });

  // Attack: a plain signature offered where an attestation of a type is demanded.
  it('--type refuses a plain message signature instead of ignoring the type', async () => {
    const signer = signerOf(p256());
    const { bundle } = await signBlob({ data: Buffer.from('A') }, { signer });
    const report = await verifyBlob(
      { bytes: Buffer.from('A') },
      { json: bundle },
      { ...keyOptions(signer.publicKey), predicateType: 'https://spdx.dev/Document' },
    );
    assert.equal(report.ok, false);
    assert.equal(report.error?.code, 'E_PREDICATE_TYPE');
    assert.equal(
      (await verifyBlob({ bytes: Buffer.from('A') }, { json: bundle }, keyOptions(signer.publicKey))).ok,
      true,
    );
  });

  // Attack: a log key with no start date would vouch for entries from before it existed.
  it('a trusted root whose log key has no validFor.start is refused', () => {
    const json = {
      ...trustedRootJson,
      tlogs: [
        {
          baseUrl: 'https://log.example',
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: generateKeyPairSync('ec', { namedCurve: 'P-256' })
              .publicKey.export({ type: 'spki', format: 'der' })
              .toString('base64'),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: {},
          },
          logId: { keyId: 'AAAA' },
        },
      ],
    };
    assert.doesNotThrow(() => toTrustMaterial(TrustedRoot.fromJSON(json))); // plain: accepted
    assert.throws(() => parseTrustedRoot(Buffer.from(JSON.stringify(json)), 'r'), { code: 'E_TRUST_ROOT' });
  });

  it('an unknown bundle media type is refused (bundleFromJSON reads version=0.4 as the latest)', async () => {
    const signer = signerOf(p256());
    const { bundle } = await signBlob({ data: artifact }, { signer });
    const future = { ...bundle, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.4' };
    assert.doesNotThrow(() => bundleFromJSON(future));
    const report = await verifyBlob({ bytes: artifact }, { json: future }, keyOptions(signer.publicKey));
    assert.equal(report.error?.code, 'E_BUNDLE_MALFORMED');
  });

  it('digest-only verification of message signatures (P-256 with sha256:, P-384 with sha384:)', async () => {
    for (const [curve, alg] of [
      ['P-256', 'sha256'],
      ['P-384', 'sha384'],
    ] as const) {
      const signer = signerOf(generateKeyPairSync('ec', { namedCurve: curve }).privateKey);
      const { bundle } = await signBlob({ data: artifact }, { signer });
      const digest = `${alg}:${createHash(alg).update(artifact).digest('hex')}`;
      const ok = await verifyBlob({ digest }, { json: bundle }, keyOptions(signer.publicKey));
      assert.equal(ok.ok, true, ok.error?.message);
      assert.equal(ok.artifact.mode, 'digest');
      const other = `${alg}:${createHash(alg).update('other').digest('hex')}`;
      assert.equal(
        (await verifyBlob({ digest: other }, { json: bundle }, keyOptions(signer.publicKey))).error?.code,
        'E_ARTIFACT_MISMATCH',
      );
    }
  });

  it('Ed25519 message signatures and P-384 DSSE verify (both fail in plain @sigstore/verify)', async () => {
    const ed = signerOf(generateKeyPairSync('ed25519').privateKey);
    const msg = await signBlob({ data: artifact }, { signer: ed });
    assert.throws(() => verifyWithSigstoreJs(msg.bundle, artifact, ed.publicKey));
    assert.equal((await verifyBlob({ bytes: artifact }, { json: msg.bundle }, keyOptions(ed.publicKey))).ok, true);
    const p384 = signerOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    const att = await attestBlob(
      { data: artifact },
      { signer: p384, predicateType: 'https://example/p', predicate: {} },
    );
    assert.throws(() => verifyWithSigstoreJs(att.bundle, undefined, p384.publicKey));
    assert.equal((await verifyBlob({ bytes: artifact }, { json: att.bundle }, keyOptions(p384.publicKey))).ok, true);
  });
});

describe('tampering (key-based bundles)', () => {
  it('artifact, signature, bundle and key each fail with their code', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const signer = createKeyObjectSigner(key, 'ecdsa-sha2-256-nistp256', 'test');
    const { bundle } = await signBlob({ data: artifact }, { signer });
    const opts = keyOptions(signer.publicKey);
    assert.equal((await verifyBlob({ bytes: artifact }, { json: bundle }, opts)).ok, true);
    assert.equal(
      (await verifyBlob({ bytes: Buffer.from('tampered') }, { json: bundle }, opts)).error?.code,
      'E_ARTIFACT_MISMATCH',
    );
    const badSig = structuredClone(bundle);
    const sig = Buffer.from(badSig.messageSignature!.signature, 'base64');
    sig[sig.length - 3]! ^= 1;
    badSig.messageSignature!.signature = sig.toString('base64');
    assert.equal((await verifyBlob({ bytes: artifact }, { json: badSig }, opts)).error?.code, 'E_SIGNATURE_INVALID');
    assert.equal(
      (await verifyBlob({ bytes: artifact }, { json: { mediaType: bundle.mediaType } }, opts)).error?.code,
      'E_BUNDLE_MALFORMED',
    );
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.equal(
      (await verifyBlob({ bytes: artifact }, { json: bundle }, keyOptions(otherKey))).error?.code,
      'E_SIGNATURE_INVALID',
    );
  });

  it('a signature check remembered from an earlier verification vouches for nothing else', async () => {
    const signer = signerOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const att = await attestBlob(
      { data: artifact },
      { signer, predicateType: 'https://example/p', predicate: { n: 1 } },
    );
    const opts = keyOptions(signer.publicKey);
    const before = verifiedSignatures.size;
    const how = [];
    for (let i = 0; i < 3; i++) {
      const r = await verifyBlob({ bytes: artifact }, { json: att.bundle }, opts);
      assert.equal(r.ok, true);
      how.push(r.checks.find((c) => c.name === 'sigstore verification')?.detail.artifactSignature);
    }
    assert.deepEqual(how, ['verified', 'remembered', 'remembered'], 'the report says which checks came from memory');
    assert.equal(verifiedSignatures.size, before + 1, 'verified once, remembered once');
    // Same signature, another statement about the same artifact: the PAE differs, so it is verified afresh.
    const forged = structuredClone(att.bundle);
    const statement = JSON.parse(Buffer.from(forged.dsseEnvelope!.payload, 'base64').toString());
    statement.predicate = { n: 2 };
    forged.dsseEnvelope!.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    assert.equal((await verifyBlob({ bytes: artifact }, { json: forged }, opts)).error?.code, 'E_SIGNATURE_INVALID');
    // Digest mode of a message signature already verified with the bytes: a different check, made again.
    const { bundle } = await signBlob({ data: artifact }, { signer });
    assert.equal((await verifyBlob({ bytes: artifact }, { json: bundle }, opts)).ok, true);
    const digest = `sha256:${sha256(artifact).toString('hex')}`;
    const sizeBefore = verifiedSignatures.size;
    assert.equal((await verifyBlob({ digest }, { json: bundle }, opts)).ok, true);
    assert.equal(verifiedSignatures.size, sizeBefore + 1);
  });
});

describe('log key validity window (Rekor v2, real conformance bundle)', () => {
  const dir = `${CONFORMANCE_DIR}bundle-verify/rekor2-timestamp-with-expired-cert-chain/`;
  // Attack: an entry logged under a key that was not (or no longer) valid when the entry was made.
  it('gap: a checkpoint-only entry whose log key was not valid at the signed time is refused', async (t) => {
    const missing = sharedMissing(dir);
    if (missing) return t.skip(missing);
    const bundle = JSON.parse(readFileSync(`${dir}bundle.sigstore.json`, 'utf8'));
    const rootJson = JSON.parse(readFileSync(`${dir}trusted_root.json`, 'utf8'));
    const artifactPath = existsSync(`${dir}artifact`) ? `${dir}artifact` : `${CONFORMANCE_DIR}bundle-verify/a.txt`;
    const bytes = readFileSync(artifactPath);
    const policy = {
      identity: {
        exact:
          'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/' +
          '.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
      },
      issuer: { exact: 'https://token.actions.githubusercontent.com' },
    };
    const good = await verifyBlob(
      { bytes },
      { json: bundle },
      {
        now: new Date(),
        trust: { kind: 'identity', policy },
        trustedRoot: parseTrustedRoot(Buffer.from(JSON.stringify(rootJson)), 'r'),
      },
    );
    assert.equal(good.ok, true, good.error?.message);
    for (const tlog of rootJson.tlogs)
      tlog.publicKey.validFor = { start: '2020-01-01T00:00:00Z', end: '2020-01-02T00:00:00Z' };
    const plain = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(rootJson)), {});
    assert.doesNotThrow(() => plain.verify(toSignedEntity(bundleFromJSON(bundle), bytes))); // plain: accepted
    const stale = await verifyBlob(
      { bytes },
      { json: bundle },
      {
        now: new Date(),
        trust: { kind: 'identity', policy },
        trustedRoot: parseTrustedRoot(Buffer.from(JSON.stringify(rootJson)), 'r'),
      },
    );
    assert.equal(stale.error?.code, 'E_TLOG_ENTRY');
  });
});

describe('remembered signature checks: a warm memo, then a forgery a fresh verification rejects', () => {
  for (const kind of ['P-256', 'P-384', 'ed25519'] as const) {
    it(`${kind}: message signature re-pointed at other bytes (bundle messageDigest rewritten)`, async () => {
      const pk =
        kind === 'ed25519'
          ? generateKeyPairSync('ed25519').privateKey
          : generateKeyPairSync('ec', { namedCurve: kind }).privateKey;
      const signer = signerOf(pk);
      const { bundle } = await signBlob({ data: artifact }, { signer });
      const opts = keyOptions(signer.publicKey);
      assert.equal((await verifyBlob({ bytes: artifact }, { json: bundle }, opts)).ok, true);
      const forged = structuredClone(bundle);
      const alg = forged.messageSignature!.messageDigest!.algorithm === 'SHA2_384' ? 'sha384' : 'sha256';
      forged.messageSignature!.messageDigest!.digest = sha(alg, B).toString('base64');
      assert.equal((await verifyBlob({ bytes: B }, { json: forged }, opts)).error?.code, 'E_SIGNATURE_INVALID');
      if (kind !== 'ed25519') {
        assert.equal(
          (await verifyBlob({ digest: `${alg}:${sha(alg, artifact).toString('hex')}` }, { json: bundle }, opts)).ok,
          true,
        );
        assert.equal(
          (await verifyBlob({ digest: `${alg}:${sha(alg, B).toString('hex')}` }, { json: forged }, opts)).error?.code,
          'E_SIGNATURE_INVALID',
        );
      }
    });
  }
  it('DSSE: tampered signature over the same PAE after a warm verification', async () => {
    const signer = signerOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const att = await attestBlob({ data: artifact }, { signer, predicateType: 'https://example/p', predicate: {} });
    const opts = keyOptions(signer.publicKey);
    assert.equal((await verifyBlob({ bytes: artifact }, { json: att.bundle }, opts)).ok, true);
    const bad = structuredClone(att.bundle);
    const sig = Buffer.from(bad.dsseEnvelope!.signatures[0]!.sig, 'base64');
    sig[sig.length - 3]! ^= 1;
    bad.dsseEnvelope!.signatures[0]!.sig = sig.toString('base64');
    assert.equal((await verifyBlob({ bytes: artifact }, { json: bad }, opts)).error?.code, 'E_SIGNATURE_INVALID');
  });
});

describe('detached signatures (cosign verify-blob --signature)', () => {
  for (const kind of ['P-256', 'P-384', 'ed25519'] as const) {
    it(`${kind}: the signature sign-blob writes verifies against the key and the artifact alone`, async () => {
      const pk =
        kind === 'ed25519'
          ? generateKeyPairSync('ed25519').privateKey
          : generateKeyPairSync('ec', { namedCurve: kind }).privateKey;
      const signer = signerOf(pk);
      const { signature } = await signBlob({ data: artifact }, { signer });
      const ok = await verifyBlob({ bytes: artifact }, { detachedSignature: signature }, keyOptions(signer.publicKey));
      assert.equal(ok.ok, true, ok.error?.message);
      assert.equal(ok.bundle?.content, 'messageSignature');
      assert.equal(
        (await verifyBlob({ bytes: B }, { detachedSignature: signature }, keyOptions(signer.publicKey))).error?.code,
        'E_SIGNATURE_INVALID',
      );
      const other = signerOf(
        kind === 'ed25519'
          ? generateKeyPairSync('ed25519').privateKey
          : generateKeyPairSync('ec', { namedCurve: kind }).privateKey,
      );
      assert.equal(
        (await verifyBlob({ bytes: artifact }, { detachedSignature: signature }, keyOptions(other.publicKey))).error
          ?.code,
        'E_SIGNATURE_INVALID',
      );
    });
  }

  it('is for keys only: with an identity it is a usage error, not a verdict', async () => {
    await assert.rejects(
      verifyBlob(
        { bytes: artifact },
        { detachedSignature: Buffer.from('sig') },
        identityOptions({ exact: SAN }, { exact: ISSUER }),
      ),
      { code: 'E_USAGE', message: /keyless/ },
    );
  });
});

describe('a bundle without a transparency-log entry', () => {
  it('says that the missing entry is why, and how to verify a key-signed bundle without one', async () => {
    const signer = signerOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const { bundle } = await signBlob({ data: artifact }, { signer });
    const report = await verifyBlob(
      { bytes: artifact },
      { json: bundle },
      { ...keyOptions(signer.publicKey), tlogThreshold: 1 },
    );
    assert.equal(report.error?.code, 'E_TLOG_ENTRY');
    assert.match(report.error?.message ?? '', /the bundle has no transparency-log entry/);
    assert.match(report.error?.message ?? '', /--insecure-ignore-tlog/);
    const keyless = await verifyBlob(
      { bytes: artifact },
      { json: keylessBundle },
      { ...identityOptions({ exact: SAN }, { exact: ISSUER }), tlogThreshold: 1 },
    );
    assert.equal(keyless.error?.code, 'E_TLOG_ENTRY');
    assert.match(keyless.error?.message ?? '', /the bundle has no transparency-log entry/);
    assert.doesNotMatch(
      keyless.error?.message ?? '',
      /--insecure-ignore-tlog/,
      'keyless signatures have no way around their log entry',
    );
  });
});
