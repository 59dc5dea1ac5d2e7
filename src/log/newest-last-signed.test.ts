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

  it('writes only where the record is behind, and reads every record for the engine to check', async () => {
    const db = memory('size 5');
    const file = memory('size 2');
    const both = newestLastSigned([db, file], sizeOf);
    assert.deepEqual(await both.readAll?.(), ['size 5', 'size 2']);
    await both.write('size 5');
    assert.deepEqual([db.note, file.note], ['size 5', 'size 5'], 'the file catches up; the database kept its own');
    db.note = 'size 8';
    await both.write('size 6');
    assert.deepEqual([db.note, file.note], ['size 8', 'size 6'], 'a record ahead is never moved back');
  });
});
