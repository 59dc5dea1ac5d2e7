import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Checkpoint } from './checkpoint.ts';
import { checkExtends } from './consistency.ts';
import { consistencyProof, leafHash, rootAt } from './merkle.ts';
import { nodeReaderFor, type Tile, TreeEdge } from './tiles.ts';

async function tree(entries: string[]) {
  const tiles = new Map<string, Tile>();
  const edge = await TreeEdge.open(0, async () => {
    throw new Error('empty');
  });
  for (const t of edge.append(entries.map((e) => leafHash(Buffer.from(e)))))
    tiles.set(`${t.level}/${t.index}`, t.clone());
  return nodeReaderFor((k) => tiles.get(`${k.level}/${k.index}`));
}
const cp = (size: number, rootHash: Uint8Array, origin = 'log.example'): Checkpoint => ({
  origin,
  size,
  rootHash,
  extensions: [],
});

describe('checkExtends', () => {
  it('accepts a newer checkpoint of the same history, and the same one', async () => {
    const node = await tree(Array.from({ length: 20 }, (_, i) => `e${i}`));
    checkExtends(cp(7, rootAt(7, node)), cp(20, rootAt(20, node)), consistencyProof(7, 20, node));
    checkExtends(cp(20, rootAt(20, node)), cp(20, rootAt(20, node)), []);
  });

  // Attack: the log rewrites entry 3 and presents a tree that looks like a continuation.
  it('refuses a fork, a shrink, or another log (E_LOG_INCONSISTENT names both sizes)', async () => {
    const honest = await tree(Array.from({ length: 20 }, (_, i) => `e${i}`));
    const forked = await tree(Array.from({ length: 20 }, (_, i) => (i === 3 ? 'rewritten' : `e${i}`)));
    const older = cp(7, rootAt(7, honest));
    assert.throws(() => checkExtends(older, cp(20, rootAt(20, forked)), consistencyProof(7, 20, forked)), {
      code: 'E_LOG_INCONSISTENT',
      message: /size 20 does not extend the one at size 7/,
    });
    assert.throws(() => checkExtends(cp(20, rootAt(20, honest)), older, []), {
      code: 'E_LOG_INCONSISTENT',
      message: /is smaller than/,
    });
    assert.throws(() => checkExtends(cp(7, rootAt(7, forked)), cp(7, rootAt(7, honest)), []), {
      code: 'E_LOG_INCONSISTENT',
    });
    assert.throws(
      () => checkExtends(older, cp(20, rootAt(20, honest), 'other.example'), consistencyProof(7, 20, honest)),
      { code: 'E_INPUT_MALFORMED' },
    );
  });
});
