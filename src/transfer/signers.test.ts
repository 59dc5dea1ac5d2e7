import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { signBlob } from '../sigstore/sign-blob.ts';
import { SIGSTORE_SIGNATURE_NAME, sigstoreSignatureName } from './format.ts';
import { checkManifestSignatures, looseSigners, namedSigners, parseSignersFile, requireSigners } from './signers.ts';

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
    ])
      assert.throws(() => parseSignersFile(bad, 's'), code('E_INPUT_MALFORMED'), JSON.stringify(bad));
  });
});
