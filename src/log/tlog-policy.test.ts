import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { isAirlockError } from '../errors.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { cosignCheckpoint, encodeCosignerKey } from './cosignature.ts';
import { parseNote } from './note.ts';
import { encodeVerifierKey, SIGNATURE_TYPE, splitVerifierKey } from './note-keys.ts';
import { cosignersIn, parseTlogPolicy, quorumSatisfied } from './tlog-policy.ts';

const malformed = (pattern: RegExp) => (e: unknown) =>
  isAirlockError(e) && e.code === 'E_INPUT_MALFORMED' && pattern.test(e.message);
const witnessKey = (name: string) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    name,
    publicKey,
    vkey: encodeCosignerKey(name, publicKey),
    signer: createKeyObjectSigner(privateKey, 'ed25519', name),
  };
};
const [A, B, C, D] = ['a.example', 'b.example', 'c.example', 'd.example'].map(witnessKey) as [
  ReturnType<typeof witnessKey>,
  ReturnType<typeof witnessKey>,
  ReturnType<typeof witnessKey>,
  ReturnType<typeof witnessKey>,
];
const LOG_VKEY = encodeVerifierKey('log.example', generateKeyPairSync('ed25519').publicKey);
const ECDSA_LOG_VKEY = encodeVerifierKey('log.example', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);

// Real witness vkeys as published (type 0x04), also used in cosignature.test.ts.
const LITTLE_GARDEN =
  'transparency.dev/DEV:witness-little-garden+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM';
const REMORA = 'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2';

describe('parseTlogPolicy', () => {
  it('reads logs, witnesses with and without URLs, groups (k, any, all), comments, tabs and the quorum', () => {
    const policy = parseTlogPolicy(
      [
        '# the on-prem log and its witnesses',
        `log ${LOG_VKEY} http://rekor.internal:3000`,
        '',
        `witness\tgarden ${LITTLE_GARDEN}   https://w1.example/`,
        `witness remora ${REMORA}`,
        `witness a ${A.vkey} http://a:8100`,
        `witness b ${B.vkey}`,
        '  # an indented comment',
        'group public any garden remora',
        'group ours 2 a b',
        'group both all public ours',
        'quorum both',
        '',
      ].join('\n'),
    );
    assert.equal(policy.logs.length, 1);
    assert.equal(policy.logs[0]?.url, 'http://rekor.internal:3000');
    assert.deepEqual(
      policy.witnesses.map((w) => [w.name, w.url]),
      [
        ['garden', 'https://w1.example/'],
        ['remora', undefined],
        ['a', 'http://a:8100'],
        ['b', undefined],
      ],
    );
    assert.deepEqual(
      policy.groups.map((g) => [g.name, g.threshold, g.members]),
      [
        ['public', 1, ['garden', 'remora']],
        ['ours', 2, ['a', 'b']],
        ['both', 2, ['public', 'ours']],
      ],
    );
    assert.equal(policy.quorum, 'both');
    // Nested groups: one of the public pair and both of ours.
    assert.equal(quorumSatisfied(policy, new Set(['remora', 'a', 'b'])), true);
    assert.equal(quorumSatisfied(policy, new Set(['garden', 'remora', 'a'])), false);
    assert.equal(quorumSatisfied(policy, new Set(['a', 'b'])), false);
    assert.equal(quorumSatisfied(policy, new Set()), false);
  });

  it('quorum none is met by nothing; a witness as the quorum needs that witness', () => {
    assert.equal(quorumSatisfied(parseTlogPolicy('quorum none\n'), new Set()), true);
    const one = parseTlogPolicy(`witness a ${A.vkey}\nquorum a\n`);
    assert.equal(quorumSatisfied(one, new Set(['a'])), true);
    assert.equal(quorumSatisfied(one, new Set(['b'])), false);
  });

  it('reads a 0x01 (omniwitness-style) vkey of a witness as its cosigner key', () => {
    const { keyId, key } = splitVerifierKey(A.vkey);
    const typeOne = encodeVerifierKey(A.name, A.publicKey);
    assert.equal(splitVerifierKey(typeOne).type, SIGNATURE_TYPE.ed25519);
    assert.deepEqual(splitVerifierKey(typeOne).key, key);
    const policy = parseTlogPolicy(`witness a ${typeOne}\nquorum a\n`);
    assert.equal(policy.witnesses[0]?.verifier.keyId, keyId, 'answers to the 0x04 key ID');
    // Same key under both spellings is one witness, not two.
    assert.throws(
      () => parseTlogPolicy(`witness a ${A.vkey}\nwitness b ${typeOne}\nquorum a\n`),
      malformed(/line 2: witness b has the same public key as an earlier log or witness line/),
    );
  });

  const refusals: Array<[string, string, RegExp]> = [
    ['no quorum', `witness a ${A.vkey}\n`, /no quorum line/],
    ['two quorums', 'quorum none\nquorum none\n', /line 2: a second quorum line/],
    ['quorum before its definition', `quorum a\nwitness a ${A.vkey}\n`, /line 1: quorum 'a' is not defined/],
    ['unknown keyword', 'witnesses a x\nquorum none\n', /line 1: unknown keyword 'witnesses'/],
    [
      'a trailing comment',
      `witness a ${A.vkey} http://a # primary\nquorum a\n`,
      /line 1: expected: witness <name> <vkey> \[<url>\]/,
    ],
    ['a control character', 'quorum none\r\n', /line 1: control character 0x0d/],
    ['the reserved name', `witness none ${A.vkey}\nquorum none\n`, /line 1: the name 'none' is reserved/],
    ['a name defined twice', `witness a ${A.vkey}\ngroup a any a\nquorum a\n`, /line 2: 'a' is already defined/],
    [
      'an undefined member',
      `witness a ${A.vkey}\ngroup g any a b\nquorum g\n`,
      /line 2: group g: member 'b' is not defined/,
    ],
    [
      'a member twice',
      `witness a ${A.vkey}\nwitness b ${B.vkey}\ngroup g any a b\ngroup h any a\nquorum g\n`,
      /line 4: group h: 'a' is already a member/,
    ],
    ['threshold 0', `witness a ${A.vkey}\ngroup g 0 a\nquorum g\n`, /outside \[1, 1\]/],
    ['threshold above members', `witness a ${A.vkey}\ngroup g 2 a\nquorum g\n`, /outside \[1, 1\]/],
    [
      'threshold not a number',
      `witness a ${A.vkey}\ngroup g most a\nquorum g\n`,
      /the threshold 'most' is not a number/,
    ],
    [
      'an ECDSA log key as witness',
      `witness a ${ECDSA_LOG_VKEY}\nquorum a\n`,
      /line 1: witness a: .*0x02 is not supported/,
    ],
    ['a witness key as log', `log ${A.vkey}\nquorum none\n`, /line 1: the log key: .*cosigner/],
    [
      'two logs with one key',
      `log ${LOG_VKEY}\nlog ${LOG_VKEY} http://x\nquorum none\n`,
      /line 2: the same public key as an earlier log or witness line/,
    ],
    [
      'one key as log and witness',
      `log ${encodeVerifierKey('a.example', A.publicKey)}\nwitness a ${A.vkey}\nquorum a\n`,
      /line 2: witness a has the same public key as an earlier log or witness line/,
    ],
    ['a bad vkey', 'witness a a+00000000+AAAA\nquorum a\n', /line 1: witness a: /],
  ];
  for (const [what, text, pattern] of refusals) {
    it(`refuses ${what}, naming the line`, () => {
      assert.throws(() => parseTlogPolicy(text), malformed(pattern));
    });
  }
});

describe('cosignersIn', () => {
  it('names the policy witnesses whose cosignature verifies, and refuses a bad one by a policy key', async () => {
    const policy = parseTlogPolicy(
      `witness a ${A.vkey}\nwitness b ${B.vkey}\nwitness c ${C.vkey}\ngroup g 2 a b c\nquorum g\n`,
    );
    const text = formatCheckpoint({
      origin: 'log.example',
      size: 5,
      rootHash: new Uint8Array(32).fill(7),
      extensions: [],
    });
    const time = new Date('2026-11-21T00:00:00Z');
    const lines = await Promise.all([A, B, D].map((w) => cosignCheckpoint(text, w.name, w.signer, time)));
    const note = `${text}\n${lines.join('')}`;
    const names = cosignersIn(policy, parseNote(note));
    assert.deepEqual([...names].sort(), ['a', 'b'], 'd is not in the policy: ignored');
    assert.equal(quorumSatisfied(policy, names), true);
    // One bit of b's signature flipped (after its 8-byte timestamp): always another signature. (A
    // base64 character swapped by pattern missed whenever the one it picked was a digit, '+' or '/'.)
    const forgedLine = (lines[1] as string).replace(/ (\S+)\n$/, (_, b64: string) => {
      const blob = Buffer.from(b64, 'base64');
      blob[20] = (blob[20] as number) ^ 0x01;
      return ` ${blob.toString('base64')}\n`;
    });
    assert.notEqual(forgedLine, lines[1]);
    const forged = `${text}\n${lines[0]}${forgedLine}`;
    assert.throws(
      () => cosignersIn(policy, parseNote(forged)),
      (e: unknown) => isAirlockError(e) && e.code === 'E_TLOG_CHECKPOINT',
    );
  });
});
