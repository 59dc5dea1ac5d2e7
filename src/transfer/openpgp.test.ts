// Interop with real GnuPG (gpg 2.2+): keys are made and exported by gpg in a throwaway GNUPGHOME, and
// every signature airlock writes must pass `gpg --verify`, as the seed workflow's signatures must pass ours.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { enums, readSignature } from 'openpgp';
import { createGpgHome, type GpgHome, gpgMissing } from '../../test/helpers/gpg.ts';
import { isAirlockError } from '../errors.ts';
import {
  combineSignatures,
  extractInlineSignedData,
  loadKeyring,
  loadPrivateKey,
  signDetached,
  verifyManifestSignatures,
} from './openpgp.ts';

const missing = gpgMissing();
const PASSPHRASE = 'correct horse battery staple';
const MANIFEST = Buffer.from(
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  images/app.tar\n' +
    '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae  sbom.json\n',
);
const TAMPERED = Buffer.from(MANIFEST.toString().replace('app.tar', 'evil.tar'));
const DAY = 86_400_000;

describe('OpenPGP manifest signatures, against GnuPG', { skip: missing }, () => {
  let gpg: GpgHome;
  let ed: string; // ed25519, no passphrase
  let rsa: string; // rsa3072, passphrase-protected
  let stranger: string; // signs, but is never in the keyring
  let manifestPath: string;
  let tamperedPath: string;

  const keyringOf = async (...fingerprints: string[]) =>
    loadKeyring(Buffer.from(await gpg.exportPublic(...fingerprints)));
  const gpgSign = async (mode: string[], signer: string, path = manifestPath, extra: string[] = []) =>
    gpg.ok([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      PASSPHRASE,
      ...extra,
      ...mode,
      '-u',
      signer,
      '-o',
      '-',
      path,
    ]);
  const gpgVerify = async (signature: string, path: string) =>
    gpg.run(['--verify', await gpg.file('sig.asc', signature), path]);

  before(async () => {
    gpg = await createGpgHome();
    ed = await gpg.generateKey('Ed Signer <ed@example.org>', 'ed25519');
    rsa = await gpg.generateKey('RSA Signer <rsa@example.org>', 'rsa3072', PASSPHRASE);
    stranger = await gpg.generateKey('Stranger <stranger@example.org>', 'ed25519');
    manifestPath = await gpg.file('manifest.sha256', MANIFEST);
    tamperedPath = await gpg.file('tampered.sha256', TAMPERED);
  });
  after(() => gpg?.cleanup());

  it('signs detached so that gpg --verify accepts it, with SHA-256 or better, and rejects tampered data', async () => {
    const edKey = await loadPrivateKey(await gpg.exportSecret(ed), undefined);
    const rsaKey = await loadPrivateKey(await gpg.exportSecret(rsa, PASSPHRASE), PASSPHRASE);
    for (const key of [edKey, rsaKey]) {
      const signature = await signDetached(MANIFEST, key);
      const hash = (await readSignature({ armoredSignature: signature })).packets[0]?.hashAlgorithm;
      assert.ok(hash === enums.hash.sha256 || hash === enums.hash.sha384 || hash === enums.hash.sha512, `hash ${hash}`);
      const good = await gpgVerify(signature, manifestPath);
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stderr, new RegExp(`Good signature from "${key.getUserIDs()[0]}"`));
      const bad = await gpgVerify(signature, tamperedPath);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /BAD signature/);
    }
  });

  it('verifies gpg detached and inline signatures, armored and binary, and reports content that differs', async () => {
    const keyring = await keyringOf(ed, rsa);
    assert.deepEqual(
      keyring.keys.map((k) => [k.fingerprint, k.userIds]),
      [
        [ed, ['Ed Signer <ed@example.org>']],
        [rsa, ['RSA Signer <rsa@example.org>']],
      ],
    );
    const forms = {
      'armored detached': (await gpgSign(['--armor', '--detach-sign'], ed)).toString('utf8'),
      'binary detached': await gpgSign(['--detach-sign'], ed),
      'armored inline': (await gpgSign(['--armor', '--sign'], ed)).toString('utf8'),
      'binary inline': await gpgSign(['--sign'], ed),
    };
    for (const [form, signature] of Object.entries(forms)) {
      const result = await verifyManifestSignatures(MANIFEST, signature, keyring, { date: new Date() });
      assert.deepEqual(result.problems, [], form);
      assert.equal(result.signers.length, 1, form);
      assert.equal(result.signers[0]?.fingerprint, ed, form);
      assert.equal(result.signers[0]?.keyId, ed.slice(-16), form);
      assert.deepEqual(result.signers[0]?.userIds, ['Ed Signer <ed@example.org>'], form);
      assert.ok(Math.abs(Date.parse(result.signers[0]?.created ?? '') - Date.now()) < 60_000, form);

      const tampered = await verifyManifestSignatures(TAMPERED, signature, keyring, { date: new Date() });
      assert.deepEqual(tampered.signers, [], form);
      assert.equal(tampered.problems.length, 1, form);
      assert.equal(tampered.problems[0]?.keyId, ed.slice(-16), form);
      if (form.endsWith('inline')) assert.equal(tampered.problems[0]?.reason, 'signed content differs', form);
      else assert.match(tampered.problems[0]?.reason ?? '', /does not verify/, form);
    }

    const inline = forms['armored inline'];
    assert.deepEqual(Buffer.from(await extractInlineSignedData(inline)), MANIFEST);
    const otherInline = (await gpgSign(['--armor', '--sign'], rsa, tamperedPath)).toString('utf8');
    const differs = await verifyManifestSignatures(MANIFEST, otherInline, keyring, { date: new Date() });
    assert.deepEqual(differs, { signers: [], problems: [{ keyId: rsa.slice(-16), reason: 'signed content differs' }] });
    await assert.rejects(extractInlineSignedData(forms['armored detached']), (e) =>
      isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
  });

  it('loads a passphrase-protected gpg key only with its passphrase, and never echoes it', async () => {
    const armored = await gpg.exportSecret(rsa, PASSPHRASE);
    const key = await loadPrivateKey(armored, PASSPHRASE);
    assert.equal(key.getFingerprint().toUpperCase(), rsa);
    assert.ok(key.isDecrypted());
    const wrong = 'not the passphrase';
    await assert.rejects(loadPrivateKey(armored, wrong), (e) => {
      assert.ok(isAirlockError(e, 'E_KEY_PASSWORD'));
      assert.ok(!JSON.stringify(e.toJSON()).includes(wrong) && !String(e.stack).includes(wrong));
      assert.ok(!JSON.stringify(e.toJSON()).includes(PASSPHRASE));
      return true;
    });
    await assert.rejects(loadPrivateKey(armored, undefined), (e) => isAirlockError(e, 'E_PASSWORD_MISSING'));
    await assert.rejects(loadPrivateKey('not a key', PASSPHRASE), (e) => isAirlockError(e, 'E_INPUT_MALFORMED'));
    // Two keys, in one armored block or two, are refused rather than one of them picked.
    const oneBlock = await gpg.ok([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      PASSPHRASE,
      '--armor',
      '--export-secret-keys',
      ed,
      rsa,
    ]);
    for (const two of [oneBlock.toString('utf8'), (await gpg.exportSecret(ed)) + armored]) {
      await assert.rejects(
        loadPrivateKey(two, PASSPHRASE),
        (e) => isAirlockError(e, 'E_INPUT_MALFORMED') && /found 2/.test(e.message),
      );
    }
  });

  it('combines signatures into one block that gpg reports in full, counting each primary key once', async () => {
    const edKey = await loadPrivateKey(await gpg.exportSecret(ed), undefined);
    const rsaKey = await loadPrivateKey(await gpg.exportSecret(rsa, PASSPHRASE), PASSPHRASE);
    const strangerKey = await loadPrivateKey(await gpg.exportSecret(stranger), undefined);
    const edSig = await signDetached(MANIFEST, edKey);
    const rsaSig = await signDetached(MANIFEST, rsaKey);
    const combined = await combineSignatures([edSig, rsaSig]);
    assert.equal(combined.match(/-----BEGIN PGP SIGNATURE-----/g)?.length, 1);
    const verified = await gpgVerify(combined, manifestPath);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stderr.match(/Good signature from/g)?.length, 2, verified.stderr);

    const keyring = await keyringOf(ed, rsa);
    const both = await verifyManifestSignatures(MANIFEST, combined, keyring, { date: new Date() });
    assert.deepEqual(both.signers.map((s) => s.fingerprint).sort(), [ed, rsa].sort());
    assert.deepEqual(both.problems, []);

    // A second, distinct signature by the same key (openpgp.js salts each one), and a re-added identical one.
    const edAgain = await signDetached(MANIFEST, edKey);
    assert.notEqual(edAgain, edSig);
    const strangerSig = await signDetached(MANIFEST, strangerKey);
    const crowded = await combineSignatures([combined, edAgain, edSig, strangerSig]);
    assert.equal((await readSignature({ armoredSignature: crowded })).packets.length, 4);
    const result = await verifyManifestSignatures(MANIFEST, crowded, keyring, { date: new Date() });
    assert.deepEqual(result.signers.map((s) => s.fingerprint).sort(), [ed, rsa].sort());
    assert.deepEqual(result.problems, [{ keyId: stranger.slice(-16), reason: 'key not in keyring' }]);
    const gpgCrowded = await gpgVerify(crowded, manifestPath);
    assert.equal(gpgCrowded.stderr.match(/Good signature from/g)?.length, 4, gpgCrowded.stderr);
  });

  it('credits a signing subkey to its primary key, once', async () => {
    const owner = await gpg.generateKey('Subkey Owner <sub@example.org>', 'ed25519');
    const subkeyId = await gpg.addSigningSubkey(owner);
    const keyring = await keyringOf(owner);
    const bySubkey = (await gpgSign(['--armor', '--detach-sign'], owner)).toString('utf8');
    const byPrimary = (await gpgSign(['--armor', '--detach-sign'], `${owner}!`)).toString('utf8');
    const combined = await combineSignatures([bySubkey, byPrimary]);
    const packets = (await readSignature({ armoredSignature: combined })).packets;
    const issuers = Array.from(packets, (p) => p.issuerKeyID.toHex().toUpperCase());
    assert.deepEqual(issuers, [subkeyId, owner.slice(-16)]);
    const result = await verifyManifestSignatures(MANIFEST, combined, keyring, { date: new Date() });
    assert.equal(result.signers.length, 1);
    assert.deepEqual(result.problems, []);
    assert.equal(result.signers[0]?.fingerprint, owner);
    assert.equal(result.signers[0]?.keyId, subkeyId);
  });

  it('judges expiry and revocation at signature time', async () => {
    const temp = await gpg.generateKey('Short Lived <short@example.org>', 'ed25519');
    const asIssued = await keyringOf(temp); // expires in a day
    const early = (await gpgSign(['--armor', '--detach-sign'], temp)).toString('utf8');
    const inThreeDays = Date.now() + 3 * DAY;
    // Made while the key was valid: still good after the key has expired.
    const late = await verifyManifestSignatures(MANIFEST, early, asIssued, { date: new Date(inThreeDays + DAY) });
    assert.equal(late.signers.length, 1);

    // A signature made after the expiry the keyring knows of (the key was extended elsewhere).
    await gpg.ok(['--quick-set-expire', temp, '10d']);
    const fakedTime = ['--faked-system-time', `${Math.floor(inThreeDays / 1000)}!`];
    const afterExpiry = (await gpgSign(['--armor', '--detach-sign'], temp, manifestPath, fakedTime)).toString('utf8');
    const expired = await verifyManifestSignatures(MANIFEST, afterExpiry, asIssued, {
      date: new Date(inThreeDays + DAY),
    });
    assert.deepEqual(expired.signers, []);
    assert.match(expired.problems[0]?.reason ?? '', /Primary key is expired/);
    const extended = await verifyManifestSignatures(MANIFEST, afterExpiry, await keyringOf(temp), {
      date: new Date(inThreeDays + DAY),
    });
    assert.equal(extended.signers.length, 1);

    // gpg's stored revocation certificate says "no reason": a hard revocation voids earlier signatures too.
    const revocation = await readFile(join(gpg.dir, 'openpgp-revocs.d', `${temp}.rev`), 'utf8');
    await gpg.ok(['--import'], revocation.replace(/^:-----BEGIN/m, '-----BEGIN'));
    const revoked = await verifyManifestSignatures(MANIFEST, early, await keyringOf(temp), { date: new Date() });
    assert.deepEqual(revoked.signers, []);
    assert.match(revoked.problems[0]?.reason ?? '', /Primary key is revoked/);
  });

  it('refuses malformed signatures and keyrings as E_INPUT_MALFORMED', async () => {
    const keyring = await keyringOf(ed);
    const malformed = (e: unknown) => isAirlockError(e, 'E_INPUT_MALFORMED');
    const clearsigned = (await gpgSign(['--clearsign'], ed)).toString('utf8');
    for (const bad of [
      '',
      'garbage',
      clearsigned,
      '-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n',
    ]) {
      await assert.rejects(
        verifyManifestSignatures(MANIFEST, bad, keyring, { date: new Date() }),
        malformed,
        JSON.stringify(bad.slice(0, 40)),
      );
    }
    await assert.rejects(
      verifyManifestSignatures(MANIFEST, Buffer.from([0xc2, 0x05, 0x04]), keyring, { date: new Date() }),
      malformed,
    );
    await assert.rejects(loadKeyring(Buffer.from('no keys here')), malformed);
    await assert.rejects(loadKeyring(Buffer.from([0x99, 0x01])), malformed);
    await assert.rejects(combineSignatures([]), malformed);
    // Concatenated armored exports (cat a.asc b.asc) are one keyring too.
    const two = await loadKeyring(Buffer.from((await gpg.exportPublic(ed)) + (await gpg.exportPublic(rsa))));
    assert.deepEqual(
      two.keys.map((k) => k.fingerprint),
      [ed, rsa],
    );
    const binary = await loadKeyring(await gpg.ok(['--export', ed, rsa]));
    assert.deepEqual(
      binary.keys.map((k) => k.fingerprint),
      [ed, rsa],
    );
  });
});
