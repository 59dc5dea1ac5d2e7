import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LastSignedStore } from './engine.ts';
import { newestLastSigned } from './newest-last-signed.ts';

const memory = (note?: string): LastSignedStore & { note?: string } => {
  const store = {
    note,
    read: async () => store.note,
    write: async (n: string) => {
      store.note = n;
    },
  };
  return store;
};
const sizeOf = (note: string) => {
  const size = Number(note.split('\n')[1]);
  if (!Number.isSafeInteger(size)) throw new Error('not a checkpoint');
  return size;
};

describe('newestLastSigned', () => {
  it('reads the record of the larger tree, wherever it is kept, and writes to every place', async () => {
    const db = memory('log\n7\n');
    const file = memory('log\n9\n');
    const both = newestLastSigned([db, file], sizeOf);
    assert.equal(await both.read(), 'log\n9\n', 'the file is ahead (the database was restored)');
    file.note = 'log\n3\n';
    assert.equal(await both.read(), 'log\n7\n', 'the database is ahead (another host signed)');
    await both.write('log\n12\n');
    assert.deepEqual([db.note, file.note], ['log\n12\n', 'log\n12\n']);
    assert.equal(await newestLastSigned([memory(), memory()], sizeOf).read(), undefined);
  });

  it('answers a record that does not open as it is, for the engine to refuse', async () => {
    const both = newestLastSigned([memory('log\n9\n'), memory('forged')], sizeOf);
    assert.equal(await both.read(), 'forged');
  });
});
