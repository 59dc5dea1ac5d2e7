import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedMap } from './bounded-map.ts';

const keys = <K, V>(map: BoundedMap<K, V>, candidates: readonly K[]): K[] => candidates.filter((k) => map.has(k));

describe('BoundedMap', () => {
  it('keeps at most `limit` entries, forgetting the oldest first', () => {
    const map = new BoundedMap<string, number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) map.set(k, i);
    assert.equal(map.size, 3);
    assert.equal(map.weight, 3);
    assert.deepEqual(keys(map, ['a', 'b', 'c', 'd', 'e']), ['c', 'd', 'e']);
    assert.equal(map.get('a'), undefined);
    assert.equal(map.get('e'), 4);
  });

  it('ordered by use (the default), a read makes the entry the newest: the least recently used goes first', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    assert.equal(map.get('a'), 1);
    map.set('c', 3);
    assert.deepEqual(keys(map, ['a', 'b', 'c']), ['a', 'c']);
  });

  it('ordered by insertion, a read changes nothing: the oldest set goes first', () => {
    const map = new BoundedMap<string, number>(2, { order: 'insertion' });
    map.set('a', 1).set('b', 2);
    assert.equal(map.get('a'), 1);
    map.set('c', 3);
    assert.deepEqual(keys(map, ['a', 'b', 'c']), ['b', 'c']);
  });

  it('has() never changes the order, in either', () => {
    for (const order of ['use', 'insertion'] as const) {
      const map = new BoundedMap<string, number>(2, { order });
      map.set('a', 1).set('b', 2);
      assert.equal(map.has('a'), true);
      map.set('c', 3);
      assert.deepEqual(keys(map, ['a', 'b', 'c']), ['b', 'c'], order);
    }
  });

  it('setting a kept key replaces its value and makes it the newest, in either order', () => {
    for (const order of ['use', 'insertion'] as const) {
      const map = new BoundedMap<string, number>(2, { order });
      map.set('a', 1).set('b', 2).set('a', 10).set('c', 3);
      assert.deepEqual(keys(map, ['a', 'b', 'c']), ['a', 'c'], order);
      assert.equal(map.get('a'), 10);
      assert.equal(map.size, 2);
    }
  });

  it('bounds the total weight when given `weigh`, forgetting as many of the oldest as it takes', () => {
    const map = new BoundedMap<string, Buffer>(10, { weigh: (b) => b.length });
    map.set('a', Buffer.alloc(4)).set('b', Buffer.alloc(4));
    assert.equal(map.weight, 8);
    map.set('c', Buffer.alloc(9));
    assert.deepEqual(keys(map, ['a', 'b', 'c']), ['c']);
    assert.equal(map.weight, 9);
    map.set('c', Buffer.alloc(2)).set('d', Buffer.alloc(8));
    assert.equal(map.weight, 10);
    assert.deepEqual(keys(map, ['c', 'd']), ['c', 'd']);
  });

  it('does not keep a value heavier than the whole bound, and forgets nothing for it', () => {
    const map = new BoundedMap<string, Buffer>(10, { weigh: (b) => b.length });
    map.set('a', Buffer.alloc(5)).set('b', Buffer.alloc(11));
    assert.deepEqual(keys(map, ['a', 'b']), ['a']);
    assert.equal(map.weight, 5);
    // replacing a kept value with one too heavy leaves no stale value behind
    map.set('a', Buffer.alloc(11));
    assert.equal(map.has('a'), false);
    assert.equal(map.weight, 0);
  });

  it('keeps nothing with a bound of zero or less', () => {
    for (const limit of [0, -1, Number.NaN]) {
      const map = new BoundedMap<string, number>(limit);
      map.set('a', 1);
      assert.equal(map.size, 0, String(limit));
      assert.equal(map.weight, 0, String(limit));
    }
  });

  it('delete() and clear() give back their weight', () => {
    const map = new BoundedMap<string, Buffer>(10, { weigh: (b) => b.length });
    map.set('a', Buffer.alloc(3)).set('b', Buffer.alloc(4));
    assert.equal(map.delete('a'), true);
    assert.equal(map.delete('a'), false);
    assert.equal(map.weight, 4);
    map.clear();
    assert.equal(map.size, 0);
    assert.equal(map.weight, 0);
    map.set('c', Buffer.alloc(10));
    assert.equal(map.size, 1);
  });
});
