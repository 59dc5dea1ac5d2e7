import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import {
  formatAddCheckpoint,
  parseAddCheckpoint,
  parseCosignatureLines,
  parseTlogSize,
  witnessCheckpointPath,
} from './witness-protocol.ts';

const NOTE = 'log.example\n5\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n— log.example AAAAAAAA\n';
const hash = (n: number) => new Uint8Array(32).fill(n);
const malformed = (pattern: RegExp) => (e: unknown) =>
  isAirlockError(e) && e.code === 'E_INPUT_MALFORMED' && pattern.test(e.message);

describe('add-checkpoint requests', () => {
  it('formats the spec layout and parses it back', () => {
    const body = formatAddCheckpoint({ oldSize: 3, proof: [hash(1), hash(2)], note: NOTE });
    assert.equal(
      body,
      `old 3\n${Buffer.from(hash(1)).toString('base64')}\n${Buffer.from(hash(2)).toString('base64')}\n\n${NOTE}`,
    );
    const parsed = parseAddCheckpoint(body);
    assert.equal(parsed.oldSize, 3);
    assert.deepEqual(
      parsed.proof.map((h) => Buffer.from(h)),
      [Buffer.from(hash(1)), Buffer.from(hash(2))],
    );
    assert.equal(parsed.note, NOTE);
    assert.deepEqual(parseAddCheckpoint(formatAddCheckpoint({ oldSize: 0, proof: [], note: NOTE })), {
      oldSize: 0,
      proof: [],
      note: NOTE,
    });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['no old line', `\n\n${NOTE}`, /'old <size>'/],
    ['a leading zero', `old 03\n\n${NOTE}`, /'old <size>'/],
    ['a negative size', `old -1\n\n${NOTE}`, /'old <size>'/],
    ['a size past 2^53', `old 9007199254740993\n\n${NOTE}`, /'old <size>'/],
    ['a short hash', `old 3\nAAAA\n\n${NOTE}`, /line 2 is not a base64 SHA-256 hash/],
    ['non-canonical base64', `old 3\n${Buffer.from(hash(1)).toString('base64').slice(0, -2)}B=\n\n${NOTE}`, /line 2/],
    ['no empty line', `old 3\n${NOTE.split('\n')[0]}`, /line 2|no empty line/],
    ['no checkpoint', 'old 3\n\n', /no checkpoint/],
    ['64 proof hashes', `old 3\n${`${Buffer.from(hash(1)).toString('base64')}\n`.repeat(64)}\n${NOTE}`, /more than 63/],
  ];
  for (const [what, body, pattern] of bad) {
    it(`refuses ${what}`, () => assert.throws(() => parseAddCheckpoint(body), malformed(pattern)));
  }
});

describe('answers', () => {
  it('reads a 409 size body and nothing else', () => {
    assert.equal(parseTlogSize('42\n'), 42);
    assert.equal(parseTlogSize('0\n'), 0);
    for (const body of ['42', ' 42\n', '042\n', '', '4 2\n', '9007199254740993\n'])
      assert.equal(parseTlogSize(body), undefined, JSON.stringify(body));
  });

  it('reads cosignature lines, each ending in a newline', () => {
    assert.deepEqual(parseCosignatureLines('— w1 AAAA\n— w2 BBBB\n'), ['— w1 AAAA\n', '— w2 BBBB\n']);
    assert.throws(() => parseCosignatureLines('— w1 AAAA'), malformed(/newline/));
    assert.throws(() => parseCosignatureLines('ok\n'), malformed(/signature lines/));
    assert.throws(() => parseCosignatureLines('\n'), malformed(/signature lines/));
  });

  it('names the monitoring path by the hex SHA-256 of the origin', () => {
    assert.equal(
      witnessCheckpointPath('log.example'),
      `${createHash('sha256').update('log.example').digest('hex')}/checkpoint`,
    );
  });
});
