import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureMemo } from './signature-memo.ts';

const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const digest = Buffer.alloc(32, 1);
const signature = Buffer.alloc(70, 2);

/** A verify() that counts its calls and answers `answer`. */
function counter(answer = true) {
  const fn = () => {
    fn.calls++;
    return answer;
  };
  fn.calls = 0;
  return fn;
}

describe('SignatureMemo', () => {
  it('remembers a successful check of exactly the same key, scheme, digest and signature', () => {
    const memo = new SignatureMemo();
    const v = counter();
    assert.equal(memo.check(key, 's', digest, signature, v), true);
    assert.equal(memo.check(key, 's', digest, signature, v), true);
    assert.equal(v.calls, 1);
  });

  it('verifies afresh when any input differs', () => {
    const memo = new SignatureMemo();
    memo.check(key, 's', digest, signature, counter());
    const flipped = (b: Buffer) => Buffer.concat([b.subarray(0, -1), Buffer.from([b.at(-1)! ^ 1])]);
    const variants: Array<[string, Parameters<SignatureMemo['check']>]> = [
      ['key', [other, 's', digest, signature, () => false]],
      ['scheme', [key, 't', digest, signature, () => false]],
      ['digest', [key, 's', flipped(digest), signature, () => false]],
      ['signature', [key, 's', digest, flipped(signature), () => false]],
      // length-prefixed fields: moving a byte from one field to the next is another check
      [
        'field boundary',
        [key, 's', digest.subarray(0, 31), Buffer.concat([digest.subarray(31), signature]), () => false],
      ],
    ];
    for (const [what, args] of variants)
      assert.equal(memo.check(...args), false, `a different ${what} must be verified`);
  });

  it('never remembers a failed check', () => {
    const memo = new SignatureMemo();
    const v = counter(false);
    assert.equal(memo.check(key, 's', digest, signature, v), false);
    assert.equal(memo.check(key, 's', digest, signature, v), false);
    assert.equal(v.calls, 2);
    assert.equal(memo.size, 0);
  });

  it('forgets the least recently used check beyond its limit', () => {
    const memo = new SignatureMemo(2);
    const d = (n: number) => Buffer.alloc(32, n);
    memo.check(key, 's', d(1), signature, counter());
    memo.check(key, 's', d(2), signature, counter());
    memo.check(key, 's', d(1), signature, counter()); // touch 1: 2 is now the oldest
    memo.check(key, 's', d(3), signature, counter());
    assert.equal(memo.size, 2);
    const v1 = counter();
    memo.check(key, 's', d(1), signature, v1);
    assert.equal(v1.calls, 0);
    const v2 = counter();
    memo.check(key, 's', d(2), signature, v2);
    assert.equal(v2.calls, 1);
  });
});
