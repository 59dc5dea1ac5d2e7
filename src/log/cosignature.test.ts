import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { isAirlockError } from '../errors.ts';
import { formatCheckpoint, openCheckpoint } from './checkpoint.ts';
import {
  type CosignatureVerifier,
  cosignatureVerifierFor,
  cosignCheckpoint,
  encodeCosignerKey,
  parseCosignerKey,
  verifyWitnessQuorum,
} from './cosignature.ts';
import { parseNote, parseSignatureLine, serializeNote, signNote } from './note.ts';
import { encodeVerifierKey, noteSignerFor, noteVerifierFor, parseVerifierKey } from './note-keys.ts';

const code = (c: string) => (e: unknown) => isAirlockError(e) && e.code === c;
const ed25519Signer = () => createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test key');

// c2sp.org/tlog-cosignature@v1.0.1, the example at the top. The spec publishes no key for it, so only
// its framing can be checked: key ID, timestamp, length.
const SPEC_NOTE =
  'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
  ('— example.com/behind-the-sofa ' +
    'Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n') +
  ('— witness.example.com/w1 ' +
    'jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n');

// A real checkpoint of the static-CT log arche2025h1.staging.ct.transparency.dev, cosigned by four
// public witnesses at 1779573024 (2026-05-23T21:50:24Z), as quoted in a public test suite; the vkeys
// are the witnesses' published ones. Besides the Ed25519 log line (ba2f06c0) it carries an RFC 6962
// line (type 0x05) of the same name, which a verifier must ignore.
const ARCHE_TEXT =
  'arche2025h1.staging.ct.transparency.dev\n1432088532\nU7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n';
const ARCHE_NOTE =
  `${ARCHE_TEXT}\n` +
  '— arche2025h1.staging.ct.transparency.dev ' +
  'zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJ' +
  'XFbon5Ch9MNL5zRNZ55lvGt0=\n' +
  ('— arche2025h1.staging.ct.transparency.dev ' +
    'ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n') +
  ('— transparency.dev/DEV:witness-little-garden ' +
    '2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n') +
  ('— witness1.smartit.nu/witness1 ' +
    'pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==\n') +
  ('— remora.n621.de ' +
    '2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n') +
  ('— witness.stagemole.eu ' +
    'Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==\n');
const ARCHE_LOG_VKEY = 'arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f';
const WITNESS_VKEYS = [
  'transparency.dev/DEV:witness-little-garden+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM',
  'witness1.smartit.nu/witness1+a48c820f+BPSFWg9G6KPiO7QPryYO5Xq4oYJJ+kAvLKLSimDhoxMO',
  'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2',
  'witness.stagemole.eu+67f7aea0+BEqSG3yu9YrmcM3BHvQYTxwFj3uSWakQepafafpUqklv',
];
const ARCHE_TIME = new Date(1779573024 * 1000);

const text = formatCheckpoint({ origin: 'log.example', size: 5, rootHash: Buffer.alloc(32, 3), extensions: ['ext'] });

describe('the spec example', () => {
  it('frames the witness line as key ID 8d66cf3f, timestamp 1679315147 and a 64-byte signature; round-trips', () => {
    const note = parseNote(SPEC_NOTE);
    const witness = note.signatures[1];
    assert.ok(witness);
    assert.equal(witness.keyId, 0x8d66cf3f);
    assert.equal(witness.signature.length, 72);
    assert.equal(Buffer.from(witness.signature).readBigUInt64BE(0), 1679315147n);
    assert.equal(serializeNote(note.text, note.signatures), SPEC_NOTE);
  });
});

describe('a real cosigned checkpoint (arche2025h1, four witnesses)', () => {
  const witnesses = WITNESS_VKEYS.map((v) => parseCosignerKey(v).verifier);

  it('re-encodes every witness vkey byte for byte', () => {
    for (const vkey of WITNESS_VKEYS) {
      const { name, publicKey } = parseCosignerKey(vkey);
      assert.equal(encodeCosignerKey(name, publicKey), vkey);
    }
  });

  it('counts four witnesses, each at its stated time, and the log key opens it too', () => {
    const quorum = verifyWitnessQuorum(ARCHE_NOTE, witnesses, 4);
    assert.equal(quorum.ok, true);
    assert.deepEqual(quorum.cosigned, [
      'remora.n621.de',
      'transparency.dev/DEV:witness-little-garden',
      'witness.stagemole.eu',
      'witness1.smartit.nu/witness1',
    ]);
    assert.deepEqual(
      quorum.cosignatures.map((c) => c.time.getTime()),
      [1, 2, 3, 4].map(() => ARCHE_TIME.getTime()),
    );
    const { checkpoint, note } = openCheckpoint(ARCHE_NOTE, parseVerifierKey(ARCHE_LOG_VKEY).verifier);
    assert.equal(checkpoint.size, 1432088532);
    assert.equal(note.unverified.length, 5);
    const parsed = parseNote(ARCHE_NOTE);
    assert.equal(serializeNote(parsed.text, parsed.signatures), ARCHE_NOTE);
  });

  it('verifies one line and returns its time', () => {
    const remora = witnesses[2] as CosignatureVerifier;
    const remoraLine = ARCHE_NOTE.split('\n').find((l) => l.startsWith('— remora.n621.de ')) ?? '';
    assert.equal(remora.verifyLine(ARCHE_TEXT, remoraLine).getTime(), ARCHE_TIME.getTime());
    assert.throws(
      () => remora.verifyLine(ARCHE_TEXT.replace('1432088532', '1432088533'), remoraLine),
      code('E_TLOG_CHECKPOINT'),
    );
    assert.throws(
      () => (witnesses[0] as CosignatureVerifier).verifyLine(ARCHE_TEXT, remoraLine),
      code('E_TLOG_CHECKPOINT'),
    );
  });

  it('refuses the note when a known witness line does not verify (tampered size)', () => {
    assert.throws(
      () => verifyWitnessQuorum(ARCHE_NOTE.replace('1432088532', '1432088533'), witnesses, 1),
      code('E_TLOG_CHECKPOINT'),
    );
  });
});

describe('cosignCheckpoint and verifiers', () => {
  it(
    'signs cosignature/v1 over the whole text with key ID SHA-256(name ‖ \\n ‖ 0x04 ‖ key)[:4], ' +
      'checked by node:crypto',
    async () => {
      const signer = ed25519Signer();
      const time = new Date('2026-03-01T12:00:00.999Z');
      const line = await cosignCheckpoint(text, 'witness.example/w1', signer, time);
      assert.match(line, /^— witness\.example\/w1 [A-Za-z0-9+/]{102}==\n$/);
      const sig = parseSignatureLine(line.slice(0, -1));
      const raw = Buffer.from(signer.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      const wantId = createHash('sha256')
        .update('witness.example/w1\n')
        .update(Uint8Array.of(0x04))
        .update(raw)
        .digest()
        .readUInt32BE(0);
      assert.equal(sig.keyId, wantId);
      const seconds = Math.floor(time.getTime() / 1000);
      assert.equal(Buffer.from(sig.signature).readBigUInt64BE(0), BigInt(seconds));
      assert.ok(
        verify(
          null,
          Buffer.from(`cosignature/v1\ntime ${seconds}\n${text}`),
          signer.publicKey,
          sig.signature.subarray(8),
        ),
      );
      const verifier = cosignatureVerifierFor('witness.example/w1', signer.publicKey);
      assert.equal(verifier.verifyLine(text, line).getTime(), seconds * 1000);
      // The extension line is signed too.
      assert.throws(() => verifier.verifyLine(text.replace('ext', 'exu'), line), code('E_TLOG_CHECKPOINT'));
    },
  );

  it('accepts a witness vkey of type 0x01, as omniwitness writes them, answering to the 0x04 key ID', async () => {
    const signer = ed25519Signer();
    const vkey01 = encodeVerifierKey('witness.example/w1', signer.publicKey);
    const fromVkey01 = parseCosignerKey(vkey01);
    const fromVkey04 = parseCosignerKey(encodeCosignerKey('witness.example/w1', signer.publicKey));
    assert.equal(fromVkey01.type, 0x01);
    assert.equal(fromVkey01.keyId, fromVkey04.keyId);
    const line = await cosignCheckpoint(text, 'witness.example/w1', signer, new Date());
    fromVkey01.verifier.verifyLine(text, line);
    // transparency-dev/formats note_cosigv1_test.go: a 0x01 vkey read as a cosigner.
    assert.equal(parseCosignerKey('TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6').name, 'TEST');
  });

  it('refuses cosigner vkeys with a wrong key ID or another type, and log parsing of a cosigner vkey', () => {
    const remora = WITNESS_VKEYS[2] as string;
    assert.throws(() => parseCosignerKey(remora.replace('da77ade7', 'da77ade8')), code('E_INPUT_MALFORMED'));
    assert.throws(() => parseVerifierKey(remora), code('E_KEY_UNSUPPORTED'));
    const p256 = encodeVerifierKey('log', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    assert.throws(() => parseCosignerKey(p256), code('E_KEY_UNSUPPORTED'));
  });

  it('refuses non-Ed25519 signers, non-checkpoint texts, bad names and times before 1970', async () => {
    const p256 = createKeyObjectSigner(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      'ecdsa-sha2-256-nistp256',
      'test key',
    );
    await assert.rejects(cosignCheckpoint(text, 'w', p256, new Date()), code('E_KEY_UNSUPPORTED'));
    await assert.rejects(cosignCheckpoint('just text\n', 'w', ed25519Signer(), new Date()), code('E_TLOG_CHECKPOINT'));
    await assert.rejects(cosignCheckpoint(text, 'a b', ed25519Signer(), new Date()), code('E_USAGE'));
    await assert.rejects(cosignCheckpoint(text, 'w', ed25519Signer(), new Date(-1000)), code('E_USAGE'));
    await assert.rejects(cosignCheckpoint(text, 'w', ed25519Signer(), new Date(Number.NaN)), code('E_USAGE'));
  });

  it('refuses to hand out a cosignature its key does not verify (a faulty token)', async () => {
    for (const bytes of [new Uint8Array(64), new Uint8Array(63)]) {
      const faulty = { ...ed25519Signer(), sign: async () => bytes };
      await assert.rejects(cosignCheckpoint(text, 'w', faulty, new Date()), code('E_SIGNATURE_INVALID'));
    }
  });
});

describe('verifyWitnessQuorum', () => {
  const setup = async () => {
    const log = ed25519Signer();
    const [a1, a2, b, c] = [ed25519Signer(), ed25519Signer(), ed25519Signer(), ed25519Signer()];
    const logged = await signNote(text, [noteSignerFor('log.example', log)]);
    const time = new Date('2026-03-01T00:00:00Z');
    const lines = [
      await cosignCheckpoint(text, 'a', a1, time),
      await cosignCheckpoint(text, 'a', a2, time),
      await cosignCheckpoint(text, 'b', b, time),
    ];
    const witnesses = [
      cosignatureVerifierFor('a', a1.publicKey),
      cosignatureVerifierFor('a', a2.publicKey),
      cosignatureVerifierFor('b', b.publicKey),
      cosignatureVerifierFor('c', c.publicKey),
    ];
    return { log, note: logged + lines.join(''), witnesses, lines, logged };
  };

  it('counts distinct witness names, not keys', async () => {
    const { note, witnesses } = await setup();
    assert.deepEqual(verifyWitnessQuorum(note, witnesses, 2), {
      ...verifyWitnessQuorum(note, witnesses, 2),
      ok: true,
      cosigned: ['a', 'b'],
    });
    const three = verifyWitnessQuorum(note, witnesses, 3);
    assert.equal(three.ok, false);
    assert.equal(three.cosignatures.length, 3);
  });

  it('reports no quorum, without throwing, when no witness cosigned', async () => {
    const { logged, witnesses } = await setup();
    assert.deepEqual(verifyWitnessQuorum(logged, witnesses, 1), {
      ok: false,
      required: 1,
      cosigned: [],
      cosignatures: [],
    });
  });

  it("refuses the note when a given witness's cosignature fails (bad signature or shifted time)", async () => {
    const { logged, witnesses, lines } = await setup();
    const sig = parseSignatureLine((lines[2] as string).slice(0, -1));
    const flipped = Buffer.from(sig.signature);
    flipped[20] = (flipped[20] as number) ^ 1;
    const later = Buffer.from(sig.signature);
    later.writeBigUInt64BE(later.readBigUInt64BE(0) + 1n, 0);
    for (const blob of [flipped, later]) {
      const bad = serializeNote(text, [...parseNote(logged).signatures, { ...sig, signature: blob }]);
      assert.throws(() => verifyWitnessQuorum(bad, witnesses, 1), code('E_TLOG_CHECKPOINT'));
    }
  });

  it('never counts a log key as a witness, and refuses quorums that cannot be met', async () => {
    const { log, note, witnesses } = await setup();
    const logKey = noteVerifierFor('log.example', log.publicKey) as unknown as CosignatureVerifier;
    assert.throws(() => verifyWitnessQuorum(note, [logKey], 1), code('E_USAGE'));
    assert.throws(() => verifyWitnessQuorum(note, witnesses, 0), code('E_USAGE'));
    assert.throws(() => verifyWitnessQuorum(note, witnesses, 4), code('E_USAGE'));
    assert.throws(() => verifyWitnessQuorum(note, witnesses, 1.5), code('E_USAGE'));
  });
});
