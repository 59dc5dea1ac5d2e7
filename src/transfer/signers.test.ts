import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ISSUER_URL, makeTestCa, type TestCa, testPrincipal } from '../../test/helpers/airlock-ca.ts';
import { startTestTsa, type TestTsa, tsaTrustedRootJson } from '../../test/helpers/tsa.ts';
import { issueCertificate } from '../ca/certificate.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { signBlob } from '../sigstore/sign-blob.ts';
import { parseTrustedRoot } from '../sigstore/trusted-root.ts';
import type { IdentityPolicy } from '../sigstore/verify/identity.ts';
import { SIGSTORE_SIGNATURE_NAME, sigstoreSignatureName } from './format.ts';
import {
  checkManifestSignatures,
  type KeylessSignerTrust,
  looseSigners,
  namedSigners,
  parseSignersFile,
  requireSigners,
} from './signers.ts';

const manifest = Buffer.from(`${'0'.repeat(64)}  airlock-transfer.json\n`);
const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

async function bundleBy(k: ReturnType<typeof key>): Promise<Buffer> {
  const { bundle } = await signBlob(
    { data: manifest, name: 'manifest.sha256' },
    { signer: createKeyObjectSigner(k.privateKey, 'ecdsa-sha2-256-nistp256', 'test') },
  );
  return Buffer.from(JSON.stringify(bundle));
}

const code = (c: string) => (err: Error & { code?: string }) => err.code === c;

describe('signers: people, not keys', () => {
  it('two keys of one signer count once; keys of two signers count twice', async () => {
    const [a1, a2, b] = [key(), key(), key()];
    const signers = namedSigners(
      [
        { name: 'release-team', pgp: [], keys: [a1.publicKey, a2.publicKey] },
        { name: 'security-team', pgp: [], keys: [b.publicKey] },
      ],
      's.json',
    );
    const sameTeam = new Map([
      [SIGSTORE_SIGNATURE_NAME, await bundleBy(a1)],
      [sigstoreSignatureName(2), await bundleBy(a2)],
    ]);
    const check = await checkManifestSignatures(sameTeam, manifest, signers, new Date());
    assert.equal(check.signers.length, 2, 'both signatures verified');
    assert.throws(
      () => requireSigners(check, 2),
      (err: Error & { code?: string }) =>
        err.code === 'E_SIGNERS' &&
        /1 trusted signer\(s\) \(release-team\), 2 required: 2 signatures, but keys of one signer count once/.test(
          err.message,
        ),
    );
    const twoTeams = new Map([
      [SIGSTORE_SIGNATURE_NAME, await bundleBy(a1)],
      [sigstoreSignatureName(2), await bundleBy(b)],
    ]);
    requireSigners(await checkManifestSignatures(twoTeams, manifest, signers, new Date()), 2);
  });
  it('a key named under two signers would count twice: refused, however its file encodes it', () => {
    const k = key();
    assert.throws(
      () =>
        namedSigners(
          [
            { name: 'a', pgp: [], keys: [k.publicKey] },
            { name: 'b', pgp: [], keys: [k.publicKey] },
          ],
          's.json',
        ),
      code('E_INPUT_MALFORMED'),
    );
    // The same point, compressed: another SPKI, another fingerprint, the same key.
    const jwk = k.publicKey.export({ format: 'jwk' });
    const y = Buffer.from(jwk.y ?? '', 'base64url');
    const compressed = Buffer.concat([
      Buffer.from([0x02 | ((y.at(-1) ?? 0) & 1)]),
      Buffer.from(jwk.x ?? '', 'base64url'),
    ]);
    const spki = Buffer.concat([
      Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
      compressed,
    ]);
    const same = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    assert.notEqual(
      same.export({ format: 'der', type: 'spki' }).toString('hex'),
      k.publicKey.export({ format: 'der', type: 'spki' }).toString('hex'),
    );
    assert.throws(
      () =>
        namedSigners(
          [
            { name: 'a', pgp: [], keys: [k.publicKey] },
            { name: 'b', pgp: [], keys: [same] },
          ],
          's.json',
        ),
      code('E_INPUT_MALFORMED'),
    );
  });
  it('loose keys are one signer each; a signature by no given key is a problem, not a signer', async () => {
    const [a, b] = [key(), key()];
    const check = await checkManifestSignatures(
      new Map([[SIGSTORE_SIGNATURE_NAME, await bundleBy(b)]]),
      manifest,
      looseSigners(undefined, [a.publicKey, a.publicKey]),
      new Date(),
    );
    assert.equal(check.signers.length, 0);
    assert.match(check.problems.join(), /not a valid signature by any trusted key/);
    assert.throws(() => requireSigners(check, 1), code('E_SIGNERS'));
  });
  it('the signers file format', () => {
    assert.deepEqual(
      parseSignersFile(
        {
          apiVersion: 'airlock/v1',
          kind: 'Signers',
          signers: [{ name: 'release team', keys: ['a.pub'], openpgp: ['t.asc'] }],
        },
        's',
      ),
      [{ name: 'release team', keys: ['a.pub'], openpgp: ['t.asc'], identities: [] }],
    );
    assert.deepEqual(
      parseSignersFile(
        {
          apiVersion: 'airlock/v1',
          kind: 'Signers',
          signers: [
            {
              name: 'ci',
              identities: [
                { issuer: 'https://idp', subject: 'ci@corp' },
                { issuer: 'https://idp', subjectRegExp: 'https://ci/.+' },
              ],
            },
          ],
        },
        's',
      ),
      [
        {
          name: 'ci',
          keys: [],
          openpgp: [],
          identities: [
            { identity: { exact: 'ci@corp' }, issuer: { exact: 'https://idp' } },
            { identity: { regexp: 'https://ci/.+' }, issuer: { exact: 'https://idp' } },
          ],
        },
      ],
    );
    for (const bad of [
      { apiVersion: 'airlock/v1', kind: 'Signers', signers: [] },
      { apiVersion: 'airlock/v1', kind: 'Signers', signers: [{ name: 'x' }] },
      {
        apiVersion: 'airlock/v1',
        kind: 'Signers',
        signers: [
          { name: 'x', keys: ['a'] },
          { name: 'x', keys: ['b'] },
        ],
      },
      { apiVersion: 'airlock/v1', kind: 'Signers', signers: [{ name: 'bad\nname', keys: ['a'] }] },
      { apiVersion: 'airlock/v1', kind: 'Signers', signers: [{ name: 'x', keys: [1] }] },
      ...[
        [{ subject: 'a' }],
        [{ issuer: 'https://idp' }],
        [{ issuer: 'https://idp', subject: 'a', subjectRegExp: 'a' }],
        [{ issuer: 'https://idp', subject: '' }],
        [{ issuer: 'https://idp', subjectRegExp: '(' }],
        { issuer: 'https://idp', subject: 'a' },
      ].map((identities) => ({ apiVersion: 'airlock/v1', kind: 'Signers', signers: [{ name: 'x', identities }] })),
    ])
      assert.throws(() => parseSignersFile(bad, 's'), code('E_INPUT_MALFORMED'), JSON.stringify(bad));
  });
});

// Keyless manifest signatures: leaves from a test CA, timestamped by a real RFC 3161 TSA (openssl ts),
// verified under a root of that CA and TSA (no log: thresholds say so, as a root's owner would).
describe('signers by identity: keyless signatures over the manifest', () => {
  const RELEASE = 'https://ci.airlock.test/release';
  const SECURITY = 'https://ci.airlock.test/security';
  let ca: TestCa;
  let tsa: TestTsa;
  let keyless: KeylessSignerTrust;
  const identity = (subject: string, issuer = ISSUER_URL): IdentityPolicy => ({
    identity: { exact: subject },
    issuer: { exact: issuer },
  });

  before(async () => {
    const now = new Date();
    [ca, tsa] = await Promise.all([makeTestCa({ now }), startTestTsa()]);
    const root = tsaTrustedRootJson(tsa, new Date(now.getTime() - 60_000));
    const rawBytes = (pem: string) => ({ rawBytes: new X509Certificate(pem).raw.toString('base64') });
    root.certificateAuthorities.push({
      subject: { organization: 'airlock test', commonName: 'test root' },
      uri: 'https://ca.airlock.test',
      certChain: { certificates: ca.chainPem.map(rawBytes) },
      validFor: { start: new Date(now.getTime() - 60_000).toISOString() },
    } as never);
    keyless = {
      trustedRoot: parseTrustedRoot(Buffer.from(JSON.stringify(root)), 'test root'),
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 1,
    };
  });
  after(() => tsa?.stop());

  async function keylessBundle(san: string, k = key()): Promise<Buffer> {
    const leaf = await issueCertificate(ca, {
      publicKey: k.publicKey,
      principal: testPrincipal({ kind: 'uri', value: san }),
      notBefore: new Date(),
      validitySeconds: 600,
      serial: randomBytes(20),
    });
    const { bundle } = await signBlob(
      { data: manifest, name: 'manifest.sha256' },
      {
        signer: createKeyObjectSigner(k.privateKey, 'ecdsa-sha2-256-nistp256', 'ephemeral'),
        certificate: new X509Certificate(leaf.der),
        witnesses: { tsaUrl: tsa.url },
      },
    );
    return Buffer.from(JSON.stringify(bundle));
  }

  it('counts for the signer whose SAN and issuer match; two by one identity count once', async () => {
    const signers = namedSigners(
      [
        { name: 'release-team', pgp: [], keys: [], identities: [identity(RELEASE)] },
        { name: 'security-team', pgp: [], keys: [key().publicKey], identities: [identity(SECURITY)] },
      ],
      's.json',
    );
    const twice = new Map([
      [SIGSTORE_SIGNATURE_NAME, await keylessBundle(RELEASE)],
      [sigstoreSignatureName(2), await keylessBundle(RELEASE)],
    ]);
    const once = await checkManifestSignatures(twice, manifest, { signers, required: 1, keyless }, new Date());
    assert.deepEqual(
      once.signers.map((r) => [r.kind, r.signer, r.id]),
      [
        ['sigstore-identity', 'release-team', RELEASE],
        ['sigstore-identity', 'release-team', RELEASE],
      ],
    );
    assert.throws(() => requireSigners(once, 2), code('E_SIGNERS'));
    const both = new Map([
      [SIGSTORE_SIGNATURE_NAME, await keylessBundle(RELEASE)],
      [sigstoreSignatureName(2), await keylessBundle(SECURITY)],
    ]);
    requireSigners(await checkManifestSignatures(both, manifest, { signers, required: 1, keyless }, new Date()), 2);
  });

  it('an unknown identity, another issuer, another manifest or no root: a problem, never a signer', async () => {
    const bundle = new Map([[SIGSTORE_SIGNATURE_NAME, await keylessBundle(RELEASE)]]);
    const check = (signers: ReturnType<typeof looseSigners>, bytes = manifest) =>
      checkManifestSignatures(bundle, bytes, { signers, required: 1, keyless }, new Date());
    const unknown = await check(looseSigners(undefined, [], [identity(SECURITY)]));
    assert.equal(unknown.signers.length, 0);
    assert.match(unknown.problems.join(), new RegExp(`signed keylessly by ${RELEASE}: not the identity of any`));
    assert.throws(() => requireSigners(unknown, 1), code('E_SIGNERS'));
    const otherIssuer = await check(looseSigners(undefined, [], [identity(RELEASE, 'https://other.test')]));
    assert.equal(otherIssuer.signers.length, 0);
    const forged = await check(looseSigners(undefined, [], [identity(RELEASE)]), Buffer.from('forged\n'));
    assert.equal(forged.signers.length, 0);
    assert.equal(forged.problems.length, 1);
    const noRoot = await checkManifestSignatures(
      bundle,
      manifest,
      looseSigners(undefined, [], [identity(RELEASE)]),
      new Date(),
    );
    assert.match(noRoot.problems.join(), /no trust root was given/);
    // A key never counts a keyless signature, even the certificate's own key: the identity is what signed.
    const ephemeral = key();
    const byKey = await checkManifestSignatures(
      new Map([[SIGSTORE_SIGNATURE_NAME, await keylessBundle(RELEASE, ephemeral)]]),
      manifest,
      { signers: looseSigners(undefined, [ephemeral.publicKey]), required: 1, keyless },
      new Date(),
    );
    assert.equal(byKey.signers.length, 0);
    assert.match(byKey.problems.join(), /no signer identity was given/);
    const loose = looseSigners(undefined, [], [identity(RELEASE), identity(RELEASE), identity(SECURITY)]);
    assert.equal(loose.length, 2, 'one loose signer per distinct identity');
  });

  it('an identity named under two signers would count twice: refused', () => {
    assert.throws(
      () =>
        namedSigners(
          [
            { name: 'a', pgp: [], keys: [], identities: [identity(RELEASE)] },
            { name: 'b', pgp: [], keys: [], identities: [identity(RELEASE)] },
          ],
          's.json',
        ),
      code('E_INPUT_MALFORMED'),
    );
  });
});
