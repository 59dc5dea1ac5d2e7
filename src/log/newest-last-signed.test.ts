import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LastSignedStore } from './engine.ts';
import { newestLastSigned } from './newest-last-signed.ts';

const memory = (note?: string): LastSignedStore & { note: string | undefined } => {
  const store = {
    note,
    read: async () => store.note,
    write: async (n: string) => {
      store.note = n;
    },
  };
  return store;
};

const sizeOf = (note: string): number => {
  const size = /^size (\d+)$/.exec(note)?.[1];
  if (size === undefined) throw new Error('not a checkpoint');
  return Number(size);
};

describe('newestLastSigned', () => {
  it('reads the newest record of all, whichever store holds it', async () => {
    assert.equal(await newestLastSigned([memory('size 3'), memory('size 7')], sizeOf).read(), 'size 7');
    assert.equal(await newestLastSigned([memory('size 9'), memory('size 7')], sizeOf).read(), 'size 9');
    assert.equal(await newestLastSigned([memory(), memory('size 2')], sizeOf).read(), 'size 2');
    assert.equal(await newestLastSigned([memory(), memory()], sizeOf).read(), undefined);
  });

  it('returns a record it cannot read, for the engine to refuse, rather than pass it over', async () => {
    assert.equal(await newestLastSigned([memory('size 9'), memory('forged')], sizeOf).read(), 'forged');
  });

  it('writes each new checkpoint to every store', async () => {
    const a = memory('size 1');
    const b = memory();
    await newestLastSigned([a, b], sizeOf).write('size 4');
    assert.deepEqual([a.note, b.note], ['size 4', 'size 4']);
  });
});
