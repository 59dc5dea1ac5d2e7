import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import type { Signer, SigningAlgorithm } from '../crypto/signer.ts';
import { isAirlockError } from '../errors.ts';
import { MAX_NOTE_BYTES, type NoteSignature, openNote, parseNote, serializeNote, signNote } from './note.ts';
import { encodeVerifierKey, noteSignerFor, noteVerifierFor, parseVerifierKey } from './note-keys.ts';

const code = (c: string) => (e: unknown) => isAirlockError(e) && e.code === c;
const signerOf = (privateKey: KeyObject, algorithm: SigningAlgorithm) =>
  createKeyObjectSigner(privateKey, algorithm, 'test key');
const ed25519Signer = () => signerOf(generateKeyPairSync('ed25519').privateKey, 'ed25519');
const p256Signer = () =>
  signerOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ecdsa-sha2-256-nistp256');
const line = (name: string, blob: Uint8Array) => `— ${name} ${Buffer.from(blob).toString('base64')}\n`;

// golang.org/x/mod/sumdb/note, package documentation and ExampleSign/ExampleOpen: a private key, its
// vkey and the note Go signs with it. Ed25519 is deterministic, so ours must come out the same.
const GO = {
  skey: 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz',
  vkey: 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  text: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
  note:
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n" +
    '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n',
};

/** The Ed25519 seed of a Go skey as a PKCS#8 private key (RFC 8410 prefix). */
function goSkeySigner(skey: string): Signer {
  const seed = Buffer.from(skey.split('+').slice(4).join('+'), 'base64').subarray(1);
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return signerOf(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), 'ed25519');
}

// c2sp.org/signed-note@v1.0.0, the example at the top: the text itself holds an empty line.
const SPEC_NOTE =
  'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n' +
  ('— quasimodo.example/salvatore ' +
    'NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n');

// transparency-dev/formats note/note_verifier_test.go: Rekor v1's ECDSA P-256 key and a note it signed.
const REKOR_V1_VKEY =
  'rekor.sigstore.dev+c0d23d6a+' +
  'AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+' +
  'smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=';
const REKOR_V1_NOTE =
  'Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n' +
  ('— rekor.sigstore.dev ' +
    'wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n');

describe('parseNote / serializeNote', () => {
  it('round-trips the signed-note spec example byte for byte, splitting at the last empty line', () => {
    for (const input of [SPEC_NOTE, new Uint8Array(Buffer.from(SPEC_NOTE))]) {
      const note = parseNote(input);
      assert.equal(
        note.text,
        'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
      );
      assert.equal(note.signatures.length, 1);
      assert.equal(note.signatures[0]?.name, 'quasimodo.example/salvatore');
      assert.equal(note.signatures[0]?.signature.length, 64);
      assert.equal(serializeNote(note.text, note.signatures), SPEC_NOTE);
    }
  });

  it('keeps a leading byte order mark as text', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SPEC_NOTE)]);
    const note = parseNote(bytes);
    assert.ok(note.text.startsWith('\ufeff'));
    assert.deepEqual(Buffer.from(serializeNote(note.text, note.signatures)), bytes);
  });

  const sig = line('k', Buffer.alloc(68, 7));
  const refusals: Array<[string, string | Uint8Array]> = [
    ['no em dash (hyphen)', `t\n\n- k ${Buffer.alloc(68).toString('base64')}\n`],
    ['an en dash', `t\n\n\u2013 k ${Buffer.alloc(68).toString('base64')}\n`],
    ['no space after the dash', `t\n\n—k ${Buffer.alloc(68).toString('base64')}\n`],
    ['bad base64', 't\n\n— k AAAA*AAA\n'],
    ['unpadded base64', `t\n\n— k ${Buffer.alloc(68).toString('base64').replace(/=+$/, '')}\n`],
    ['non-canonical base64 (padding bits set)', 't\n\n— k AAAAAAB=\n'],
    ['no signature after the name', 't\n\n— k\n'],
    ['a 4-byte signature (key ID only)', 't\n\n— k AAAAAA==\n'],
    ['an empty key name', `t\n\n—  ${Buffer.alloc(68).toString('base64')}\n`],
    ["a '+' in the key name", `t\n\n— a+b ${Buffer.alloc(68).toString('base64')}\n`],
    ['a no-break space in the key name', `t\n\n— a\u00a0b ${Buffer.alloc(68).toString('base64')}\n`],
    ['no empty line', `t\n${sig}`],
    ['no signature line', 't\n\n'],
    ['no final newline', `t\n\n${sig}`.slice(0, -1)],
    ['a carriage return', `t\r\n\n${sig}`],
    ['a tab', `a\tb\n\n${sig}`],
    ['a NUL', `a\u0000\n\n${sig}`],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from('t\xff'.slice(0, 1)), Buffer.from([0xff, 0x0a, 0x0a]), Buffer.from(sig)]),
    ],
    ['a lone surrogate', `t\ud800\n\n${sig}`],
    ['101 signatures', `t\n\n${sig.repeat(101)}`],
    ['more than 1 MiB', `${'a'.repeat(MAX_NOTE_BYTES)}\n\n${sig}`],
  ];
  for (const [what, input] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseNote(input), code('E_TLOG_CHECKPOINT'));
    });
  }

  it('takes what stands above the last empty line as text, signature-like lines included', () => {
    const note = parseNote(`t\n\n${sig}\n${sig}`);
    assert.equal(note.text, `t\n\n${sig}`);
    assert.equal(note.signatures.length, 1);
  });

  it('accepts 100 signatures', () => {
    assert.equal(parseNote(`t\n\n${sig.repeat(100)}`).signatures.length, 100);
  });

  it('serializes only what it would parse', () => {
    const s: NoteSignature = { name: 'k', keyId: 1, signature: new Uint8Array(64) };
    assert.throws(() => serializeNote('no newline', [s]), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => serializeNote('t\n', []), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => serializeNote('t\n', [{ ...s, name: 'a b' }]), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => serializeNote('t\n', [{ ...s, keyId: 2 ** 32 }]), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => serializeNote('t\n', [{ ...s, signature: new Uint8Array() }]), code('E_TLOG_CHECKPOINT'));
    assert.equal(
      serializeNote('t\n', [{ ...s, keyId: 0xc74f20a3 }]),
      `t\n\n${line('k', Buffer.concat([Buffer.from('c74f20a3', 'hex'), Buffer.alloc(64)]))}`,
    );
  });
});

describe('signNote / openNote', () => {
  it('reproduces the golang.org/x/mod/sumdb/note example byte for byte and opens it', async () => {
    const signer = noteSignerFor('PeterNeumann', goSkeySigner(GO.skey));
    assert.equal(signer.keyId, 0xc74f20a3);
    assert.equal(await signNote(GO.text, [signer]), GO.note);
    const vkey = parseVerifierKey(GO.vkey);
    assert.equal(encodeVerifierKey('PeterNeumann', vkey.publicKey), GO.vkey);
    const opened = openNote(GO.note, [vkey.verifier]);
    assert.equal(opened.text, GO.text);
    assert.deepEqual(
      opened.verified.map((s) => s.name),
      ['PeterNeumann'],
    );
  });

  it('opens the signed-note vkey example (example.com/foo+530d903a)', () => {
    const { verifier } = parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
    const note =
      'This is an example message.\n\n— example.com/foo ' +
      'Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    assert.equal(openNote(note, [verifier]).text, 'This is an example message.\n');
  });

  it('opens a Rekor v1 ECDSA P-256 note (transparency-dev/formats vector)', () => {
    const { verifier, keyId, type } = parseVerifierKey(REKOR_V1_VKEY);
    assert.equal(keyId, 0xc0d23d6a);
    assert.equal(type, 0x02);
    assert.equal(openNote(REKOR_V1_NOTE, [verifier]).verified.length, 1);
    assert.throws(() => openNote(REKOR_V1_NOTE.replace('798034', '798035'), [verifier]), code('E_TLOG_CHECKPOINT'));
  });

  it(
    'signs with ECDSA P-256: DER over SHA-256 of the text, key ID SHA-256(SPKI)[:4], checked by ' +
      'node:crypto directly',
    async () => {
      const signer = p256Signer();
      const text = 'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
      const note = await signNote(text, [noteSignerFor('example.com/log', signer)]);
      const [sig] = parseNote(note).signatures;
      assert.ok(sig);
      const spki = signer.publicKey.export({ type: 'spki', format: 'der' });
      assert.equal(sig.keyId, createHash('sha256').update(spki).digest().readUInt32BE(0));
      assert.ok(verify('sha256', Buffer.from(text), { key: signer.publicKey, dsaEncoding: 'der' }, sig.signature));
      const vkey = encodeVerifierKey('example.com/log', signer.publicKey);
      assert.match(vkey, /^example\.com\/log\+[0-9a-f]{8}\+Aj/);
      assert.equal(openNote(note, [parseVerifierKey(vkey).verifier]).text, text);
    },
  );

  it('signs with Ed25519: pure Ed25519 over the text, checked by node:crypto directly', async () => {
    const signer = ed25519Signer();
    const note = await signNote('hello\n', [noteSignerFor('example.com/k', signer)]);
    const [sig] = parseNote(note).signatures;
    assert.ok(sig && verify(null, Buffer.from('hello\n'), signer.publicKey, sig.signature));
  });

  it('ignores unknown keys, even one sharing the name of a known key, and keeps their lines', async () => {
    const [log, rotated, witness] = [ed25519Signer(), ed25519Signer(), p256Signer()];
    const note = await signNote('t\n', [
      noteSignerFor('log', rotated),
      noteSignerFor('log', log),
      noteSignerFor('witness', witness),
    ]);
    const opened = openNote(note, [noteVerifierFor('log', log.publicKey)]);
    assert.deepEqual(
      opened.verified.map((s) => s.name),
      ['log'],
    );
    assert.deepEqual(
      opened.unverified.map((s) => s.name),
      ['log', 'witness'],
    );
  });

  it('refuses tampered text', async () => {
    const signer = ed25519Signer();
    const note = await signNote('size 3\n', [noteSignerFor('log', signer)]);
    assert.throws(
      () => openNote(note.replace('3', '4'), [noteVerifierFor('log', signer.publicKey)]),
      code('E_TLOG_CHECKPOINT'),
    );
  });

  it('refuses the whole note when one known key fails, even if another verifies', async () => {
    const [a, b] = [ed25519Signer(), p256Signer()];
    const note = await signNote('t\n', [noteSignerFor('a', a), noteSignerFor('b', b)]);
    const { signatures } = parseNote(note);
    const [sa, sb] = signatures as [NoteSignature, NoteSignature];
    // XOR, not fill: a random signature may already hold the filled bytes.
    const flipped = Buffer.from(sb.signature);
    flipped[10] = (flipped[10] as number) ^ 0x01;
    const broken = serializeNote('t\n', [sa, { ...sb, signature: flipped }]);
    const verifiers = [noteVerifierFor('a', a.publicKey), noteVerifierFor('b', b.publicKey)];
    assert.throws(
      () => openNote(broken, verifiers),
      (e) => code('E_TLOG_CHECKPOINT')(e) && /b\+[0-9a-f]{8} does not verify/.test((e as Error).message),
    );
    // A bad repeat of a key that already verified is still a known-key signature that fails.
    const repeated = serializeNote('t\n', [sa, { ...sa, signature: new Uint8Array(64) }]);
    assert.throws(() => openNote(repeated, verifiers), code('E_TLOG_CHECKPOINT'));
    assert.equal(openNote(note, verifiers).verified.length, 2);
  });

  it('refuses a note with only unknown signatures and says who signed and who is trusted', async () => {
    const note = await signNote('t\n', [noteSignerFor('stranger', ed25519Signer())]);
    const trusted = noteVerifierFor('log', ed25519Signer().publicKey);
    assert.throws(
      () => openNote(note, [trusted]),
      (e) =>
        code('E_TLOG_CHECKPOINT')(e) &&
        /no signature by a trusted key: signed by stranger\+.*trusted: log\+/.test((e as Error).message),
    );
    assert.throws(() => openNote(note, []), code('E_TLOG_CHECKPOINT'));
  });

  it('refuses two different trusted keys answering to one name and key ID', () => {
    const v = noteVerifierFor('log', ed25519Signer().publicKey);
    assert.throws(() => openNote(GO.note, [v, { ...v }]), code('E_USAGE'));
  });

  it('refuses text a reader would refuse, and a signer given twice', async () => {
    const signer = noteSignerFor('log', ed25519Signer());
    await assert.rejects(signNote('no final newline', [signer]), code('E_TLOG_CHECKPOINT'));
    await assert.rejects(signNote('a\rb\n', [signer]), code('E_TLOG_CHECKPOINT'));
    await assert.rejects(signNote('t\n', [signer, signer]), code('E_USAGE'));
    await assert.rejects(signNote('t\n', []), code('E_USAGE'));
  });

  it('refuses P-384, RSA and mislabelled keys for note signing, naming what is allowed', () => {
    const p384 = signerOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'ecdsa-sha2-384-nistp384');
    const rsa = signerOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'rsa-sign-pkcs1-2048-sha256');
    for (const signer of [p384, rsa]) {
      assert.throws(
        () => noteSignerFor('log', signer),
        (e) => code('E_KEY_UNSUPPORTED')(e) && /Ed25519 or ECDSA P-256/.test((e as Error).message),
      );
      assert.throws(() => noteVerifierFor('log', signer.publicKey), code('E_KEY_UNSUPPORTED'));
    }
    const mislabelled: Signer = { ...p256Signer(), algorithm: 'ecdsa-sha2-384-nistp384' };
    assert.throws(() => noteSignerFor('log', mislabelled), code('E_KEY_UNSUPPORTED'));
    assert.throws(() => noteSignerFor('a b', ed25519Signer()), code('E_USAGE'));
  });

  it('refuses to hand out a signature its key does not verify (a faulty token)', async () => {
    const faulty: Signer = { ...p256Signer(), sign: async () => new Uint8Array(64) };
    await assert.rejects(signNote('t\n', [noteSignerFor('log', faulty)]), code('E_SIGNATURE_INVALID'));
  });
});
