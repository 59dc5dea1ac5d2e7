import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { isAirlockError } from '../errors.ts';
import { type Checkpoint, EMPTY_ROOT, formatCheckpoint, openCheckpoint, parseCheckpoint } from './checkpoint.ts';
import { parseNote, serializeNote, signNote } from './note.ts';
import { noteSignerFor, noteVerifierFor, parseVerifierKey } from './note-keys.ts';

const code = (c: string) => (e: unknown) => isAirlockError(e) && e.code === c;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

// c2sp.org/tlog-checkpoint@v1.0.0, the example at the top.
const SPEC_TEXT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const SPEC_NOTE =
  `${SPEC_TEXT}\n— example.com/behind-the-sofa ` +
  `Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n`;

// rekor-tiles CLIENTS.md "bash way" (tlog-anchors.md §2.8).
const LOCAL_VKEY = 'rekor-local+d80b4420+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E';
const LOCAL_NOTE =
  'rekor-local\n1\nm5JVGx4ESzbU2kFUPgYQ9adCA7e7mjnwQRluEmGJbHU=\n\n' +
  '— rekor-local 2AtEIIwnbtxrneJ7L1lQebfBRl7TxK84DTmx+kcZi7A25cBDgESI23f9ylThAlOireJ7U+H8eZF/4kJQcn9o5Qt8mQU=\n';

const root = Buffer.alloc(32, 0xab);
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const cp = (extra: Partial<Checkpoint> = {}): Checkpoint => ({
  origin: 'log.example',
  size: 7,
  rootHash: root,
  extensions: [],
  ...extra,
});

describe('formatCheckpoint / parseCheckpoint', () => {
  it('parses the tlog-checkpoint spec example and formats it back byte for byte', () => {
    const checkpoint = parseCheckpoint(SPEC_TEXT);
    assert.equal(checkpoint.origin, 'example.com/behind-the-sofa');
    assert.equal(checkpoint.size, 20852163);
    assert.equal(b64(checkpoint.rootHash), 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    assert.deepEqual(checkpoint.extensions, []);
    assert.equal(formatCheckpoint(checkpoint), SPEC_TEXT);
    const note = parseNote(SPEC_NOTE);
    assert.equal(note.text, SPEC_TEXT);
    assert.equal(note.signatures[0]?.signature.length, 64);
    assert.equal(serializeNote(note.text, note.signatures), SPEC_NOTE);
  });

  it('round-trips extension lines, the empty tree and the largest safe size', () => {
    for (const c of [
      cp({ extensions: ['Timestamp: 1', 'x'] }),
      cp({ size: 0, rootHash: EMPTY_ROOT }),
      cp({ size: Number.MAX_SAFE_INTEGER }),
    ]) {
      const text = formatCheckpoint(c);
      const back = parseCheckpoint(text);
      assert.deepEqual(
        { ...back, rootHash: b64(back.rootHash) },
        { ...c, rootHash: b64(c.rootHash), extensions: [...c.extensions] },
      );
    }
    assert.equal(formatCheckpoint(cp({ extensions: ['e'] })), `log.example\n7\n${b64(root)}\ne\n`);
    assert.equal(b64(EMPTY_ROOT), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  const r = b64(root);
  for (const [what, text] of [
    ['two lines', `log.example\n7\n`],
    ['a leading zero', `log.example\n07\n${r}\n`],
    ['a negative size', `log.example\n-1\n${r}\n`],
    ['a size past 2^53 - 1', `log.example\n9007199254740992\n${r}\n`],
    ['a 17-digit size', `log.example\n10000000000000000\n${r}\n`],
    ['a size with a plus sign', `log.example\n+7\n${r}\n`],
    ['a 31-byte root', `log.example\n7\n${b64(root.subarray(1))}\n`],
    ['an unpadded root', `log.example\n7\n${r.replace('=', '')}\n`],
    [
      'a URL-safe base64 root',
      `log.example\n7\n${b64(Buffer.alloc(32, 0xfb)).replace(/\+/g, '-').replace(/\//g, '_')}\n`,
    ],
    [
      'a non-canonical root (padding bits set)',
      `log.example\n7\n${r.slice(0, 42)}${B64[B64.indexOf(r[42] ?? '') | 1]}=\n`,
    ],
    ['an empty extension line', `log.example\n7\n${r}\n\n`],
    ['an origin with a space', `log example\n7\n${r}\n`],
    ["an origin with '+'", `log+example\n7\n${r}\n`],
    ['an empty origin', `\n7\n${r}\n`],
    ['no final newline', `log.example\n7\n${r}`],
    ['a carriage return', `log.example\r\n7\n${r}\n`],
    ['size 0 with a root other than SHA-256("")', `log.example\n0\n${r}\n`],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseCheckpoint(text), code('E_TLOG_CHECKPOINT'));
    });
  }

  it('refuses to format what it would not parse, and a Rekor v1-looking origin', () => {
    assert.throws(
      () => formatCheckpoint(cp({ origin: 'rekor.sigstore.dev - 2605736670972794746' })),
      (e) => code('E_TLOG_CHECKPOINT')(e) && /Rekor v1/.test((e as Error).message),
    );
    assert.throws(() => formatCheckpoint(cp({ origin: 'log - 1' })), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => formatCheckpoint(cp({ size: -1 })), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => formatCheckpoint(cp({ size: 1.5 })), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => formatCheckpoint(cp({ rootHash: root.subarray(1) })), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => formatCheckpoint(cp({ extensions: ['a\nb'] })), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => formatCheckpoint(cp({ extensions: ['a\tb'] })), code('E_TLOG_CHECKPOINT'));
    assert.throws(() => formatCheckpoint(cp({ size: 0 })), code('E_TLOG_CHECKPOINT'));
  });
});

describe('openCheckpoint', () => {
  it('opens the rekor-local envelope with its vkey and serializes it back byte for byte', () => {
    const { checkpoint, note } = openCheckpoint(LOCAL_NOTE, parseVerifierKey(LOCAL_VKEY).verifier);
    assert.equal(checkpoint.origin, 'rekor-local');
    assert.equal(checkpoint.size, 1);
    assert.equal(b64(checkpoint.rootHash), 'm5JVGx4ESzbU2kFUPgYQ9adCA7e7mjnwQRluEmGJbHU=');
    assert.equal(note.verified[0]?.keyId, 0xd80b4420);
    assert.equal(serializeNote(formatCheckpoint(checkpoint), note.verified), LOCAL_NOTE);
    assert.throws(
      () => openCheckpoint(LOCAL_NOTE.replace('\n1\n', '\n2\n'), parseVerifierKey(LOCAL_VKEY).verifier),
      code('E_TLOG_CHECKPOINT'),
    );
  });

  it('signs and opens a checkpoint of a fresh key; refuses another key and another origin', async () => {
    const signer = createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test key');
    const text = formatCheckpoint(cp());
    const note = await signNote(text, [noteSignerFor('log.example', signer)]);
    assert.equal(openCheckpoint(note, noteVerifierFor('log.example', signer.publicKey)).checkpoint.size, 7);
    const other = generateKeyPairSync('ed25519').publicKey;
    assert.throws(() => openCheckpoint(note, noteVerifierFor('log.example', other)), code('E_TLOG_CHECKPOINT'));
    // The log's key vouches only for its own origin.
    const foreign = await signNote(formatCheckpoint(cp({ origin: 'other.example' })), [
      noteSignerFor('log.example', signer),
    ]);
    assert.throws(
      () => openCheckpoint(foreign, noteVerifierFor('log.example', signer.publicKey)),
      (e) => code('E_TLOG_CHECKPOINT')(e) && /origin 'other.example'/.test((e as Error).message),
    );
  });
});
