import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from './buffer-pool.ts';

describe('BufferPool', () => {
  it('hands a recycled buffer out again, whichever view of it comes back', () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take();
    pool.recycle(a.subarray(10, 20));
    const b = pool.take();
    assert.equal(b.buffer, a.buffer);
    assert.equal(b.length, 1024);
  });

  it('takes back only what it issued, and each buffer only once', () => {
    const pool = new BufferPool(1024, 4);
    pool.recycle(Buffer.allocUnsafeSlow(1024));
    const a = pool.take();
    assert.notEqual(pool.take().buffer, a.buffer);
    pool.recycle(a);
    pool.recycle(a);
    const first = pool.take();
    const second = pool.take();
    assert.equal(first.buffer, a.buffer);
    assert.notEqual(second.buffer, a.buffer, 'a buffer recycled twice must not be handed out twice');
  });

  it('keeps at most `keep` free buffers', () => {
    const pool = new BufferPool(64, 2);
    const taken = [pool.take(), pool.take(), pool.take()];
    for (const b of taken) pool.recycle(b);
    const again = [pool.take(), pool.take(), pool.take()];
    assert.equal(again.filter((b) => taken.some((t) => t.buffer === b.buffer)).length, 2);
  });
});
