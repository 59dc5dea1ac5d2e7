// Bounded reads of one offered file: the whole stream within a cap, or the head up to a separator that
// may fall across chunks (and multi-byte UTF-8 cut between chunks), with the rest left unread.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { packageOrNote, readCapped, readHead, readOrNote } from './read-capped.ts';

const parts = (...texts: (string | Buffer)[]) =>
  Readable.from(texts.map((t) => (Buffer.isBuffer(t) ? t : Buffer.from(t))));

describe('bounded reads', () => {
  it('reads a stream whole up to the cap, exactly, and nothing over it', async () => {
    assert.equal((await readCapped(parts('abc', 'de'), 5))?.toString(), 'abcde');
    assert.equal(await readCapped(parts('abc', 'def'), 5), undefined);
    const stream = parts('abc', 'def');
    await readCapped(stream, 2);
    assert.equal(stream.destroyed, true);
  });
  it('reads a head up to a separator cut across chunks, utf-8 intact', async () => {
    const euro = Buffer.from('€');
    const stream = parts('Name: ', euro.subarray(0, 1), euro.subarray(1), '\r\n\r', '\nbody', 'more');
    assert.equal(await readHead(stream, 1024, /\r?\n\r?\n/), 'Name: €');
    assert.equal(stream.destroyed, true);
    assert.equal(await readHead(parts('a: b\n'), 1024, /\n\n/), 'a: b\n');
    assert.equal(await readHead(parts('a'.repeat(600), 'a'.repeat(600)), 1000, /\n\n/), undefined);
  });
  it('says when a file is too large, in MiB, bounded', async () => {
    const result = await readOrNote('x', { path: `/${'p'.repeat(900)}`, size: 3, executable: false }, parts('abc'), 2);
    assert.ok(!Buffer.isBuffer(result));
    assert.match(result.notes?.[0] ?? '', /^x: \/p+…\(\d+ more characters\) is larger than 0 MiB, not read$/);
    assert.deepEqual(packageOrNote('why'), { packages: [], notes: ['why'] });
  });
});
