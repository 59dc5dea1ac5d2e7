import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from './rate-limit.ts';

describe('certificates per identity per interval', () => {
  it('allows N per window per identity, then says when to retry; a new window starts afresh', () => {
    const limiter = new RateLimiter({ perWindow: 2, windowMs: 60_000 });
    assert.deepEqual(limiter.take('a', 1000), { allowed: true });
    assert.deepEqual(limiter.take('a', 2000), { allowed: true });
    assert.deepEqual(limiter.take('a', 31_000), { allowed: false, retryAfterMs: 30_000 });
    assert.deepEqual(limiter.take('b', 31_000), { allowed: true }, 'another identity is not held back');
    assert.deepEqual(limiter.take('a', 61_000), { allowed: true });
  });
  it('a clock that steps back opens a new window instead of locking an identity out', () => {
    const limiter = new RateLimiter({ perWindow: 1, windowMs: 60_000 });
    assert.equal(limiter.take('a', 100_000).allowed, true);
    assert.equal(limiter.take('a', 100_001).allowed, false);
    assert.equal(limiter.take('a', 50_000).allowed, true);
  });
  it('0 turns the limit off; memory stays bounded however many identities come', () => {
    const off = new RateLimiter({ perWindow: 0, windowMs: 1 });
    for (let i = 0; i < 5; i++) assert.equal(off.take('a', 0).allowed, true);
    const small = new RateLimiter({ perWindow: 1, windowMs: 60_000, maxKeys: 10 });
    for (let i = 0; i < 1000; i++) small.take(`id-${i}`, 0);
    assert.equal(small.take('id-999', 0).allowed, false, 'a recent identity is still counted');
  });
});
