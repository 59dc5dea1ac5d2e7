// tlog-tiles paths and entry bundles, with the examples of the spec (design note §1.3).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  encodeTileIndex,
  entriesPath,
  MAX_ENTRY_SIZE,
  parseTilePath,
  partialWidth,
  Tile,
  tilePath,
} from './tiles.ts';

describe('tile paths', () => {
  it('encodes indices in 3-digit groups, x-prefixed but the last', () => {
    assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
    assert.equal(encodeTileIndex(5), '005');
    assert.equal(encodeTileIndex(1000), 'x001/000');
    assert.equal(encodeTileIndex(0), '000');
    assert.equal(tilePath(0, 1234067), 'tile/0/x001/x234/067');
    assert.equal(tilePath(2, 5, 17), 'tile/2/005.p/17');
    assert.equal(entriesPath(1000, 112), 'tile/entries/x001/000.p/112');
  });

  it('parses exactly what it writes, and nothing else', () => {
    for (const [level, index, width] of [
      [0, 0, 256],
      [1, 1234067, 256],
      [3, 999, 1],
      [63, 1000, 255],
    ] as const) {
      assert.deepEqual(parseTilePath(tilePath(level, index, width)), { kind: 'hash', level, index, width });
      assert.deepEqual(parseTilePath(entriesPath(index, width)), { kind: 'entries', index, width });
    }
    for (const bad of [
      'tile/0/5',
      'tile/0/0005',
      'tile/0/x000/005',
      'tile/0/005.p/256',
      'tile/0/005.p/0',
      'tile/0/005.p/007',
      'tile/64/000',
      'tile/00/000',
      'tile/0/x1/005',
      'tile/0/005/',
      '/tile/0/005',
      'tile/entries/005.p/',
      'tile/0/../005',
    ]) {
      assert.equal(parseTilePath(bad), undefined, bad);
    }
  });

  it('partial widths follow the spec example for 70,000 entries', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((l) => partialWidth(l, 70_000)),
      [112, 17, 1, 0],
    );
  });
});

describe('entry bundles', () => {
  it('round-trip with uint16 length prefixes, empty entries included', () => {
    const entries = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(MAX_ENTRY_SIZE, 7)];
    const bytes = encodeEntryBundle(entries);
    assert.deepEqual(bytes.subarray(0, 3), Buffer.from([0, 1, 0x61]));
    assert.deepEqual(decodeEntryBundle(bytes), entries);
  });

  it('refuse oversized entries and truncated bundles', () => {
    assert.throws(() => encodeEntryBundle([Buffer.alloc(MAX_ENTRY_SIZE + 1)]), { code: 'E_INPUT_MALFORMED' });
    assert.throws(() => decodeEntryBundle(Buffer.from([0, 5, 1, 2])), { code: 'E_TLOG_INCLUSION' });
    assert.throws(() => decodeEntryBundle(Buffer.from([0])), { code: 'E_TLOG_INCLUSION' });
  });
});

describe('expanded tiles', () => {
  it('a tile rebuilt from its C2SP bytes has the same interior and root', () => {
    const t = Tile.empty(0, 0);
    for (let i = 0; i < 256; i++) t.append(Buffer.alloc(32, i));
    const back = Tile.fromHashes(0, 0, t.hashes());
    assert.ok(back.encode().equals(t.encode()));
    assert.ok(back.root().equals(t.root()));
    assert.throws(() => t.append(Buffer.alloc(32)), { code: 'E_INTERNAL' });
    assert.throws(() => Tile.fromHashes(0, 0, Buffer.alloc(33)), { code: 'E_TLOG_INCLUSION' });
    assert.throws(() => Tile.decode(0, 0, 3, Buffer.alloc(10)), { code: 'E_LOG_CORRUPT' });
  });
});
