import assert from 'node:assert/strict';
import { it } from 'node:test';
import { incompleteImports } from './import-journal.ts';

const ev = (index: number, action: string, importId: string, result = 'ok') => ({
  index,
  event: {
    action,
    result,
    time: `t${index}`,
    details: { importId, channel: 'prod', number: 3, tags: [{ tag: 'h/r:1', from: null, to: 'sha256:x' }] },
  },
});

it('an intent without a later completion of the same import is incomplete; a recovery completes it', () => {
  const events = [
    ev(0, 'transfer.import.tags', 'a'),
    ev(1, 'transfer.import', 'a'),
    ev(2, 'transfer.import.tags', 'b'),
    ev(3, 'transfer.import', 'b', 'failed'),
    ev(4, 'transfer.import.tags', 'c'),
    ev(5, 'transfer.import.recover', 'c'),
  ];
  assert.deepEqual(
    incompleteImports(events).map((i) => [i.importId, i.index, i.tags]),
    [
      ['b', 2, ['h/r:1']],
      ['c', 5, ['h/r:1']],
    ],
  );
  assert.deepEqual(incompleteImports([...events, ev(6, 'transfer.import', 'c'), ev(7, 'transfer.import', 'b')]), []);
});
