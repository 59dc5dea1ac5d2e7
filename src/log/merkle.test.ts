// Proof vectors: the tile-based tree (TreeEdge + expanded tiles + NodeReader) against a brute-force
// RFC 6962 oracle that recurses over the leaves with its own hashing, for every size up to 300 and
// random sizes up to 100,000; and every verifier against both.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  consistencyProof,
  EMPTY_ROOT,
  InclusionChecker,
  inclusionProof,
  leafHash,
  type NodeReader,
  perfectSubtrees,
  type RangeMemo,
  rootAt,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';
import { nodeReaderFor, type Tile, TreeEdge, tilesTouched } from './tiles.ts';

// ---- the oracle: RFC 6962 §2.1 written as the spec reads, no shared code with merkle.ts ----
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const k2 = (n: number) => {
  let k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
};
// Over index ranges of one leaf list, memoised by range (the spec's recursion, computed once per range).
function oracle(leaves: Buffer[]) {
  const memo = new Map<string, Buffer>();
  const mth = (a: number, b: number): Buffer => {
    const key = `${a}:${b}`;
    let h = memo.get(key);
    if (!h) {
      if (b - a === 0) h = sha();
      else if (b - a === 1) h = sha(Buffer.of(0), leaves[a] as Buffer);
      else {
        const k = k2(b - a);
        h = sha(Buffer.of(1), mth(a, a + k), mth(a + k, b));
      }
      memo.set(key, h);
    }
    return h;
  };
  const path = (m: number, a: number, b: number): Buffer[] => {
    if (b - a <= 1) return [];
    const k = k2(b - a);
    return m < k ? [...path(m, a, a + k), mth(a + k, b)] : [...path(m - k, a + k, b), mth(a, a + k)];
  };
  const subproof = (m: number, a: number, b: number, whole: boolean): Buffer[] => {
    if (m === b - a) return whole ? [] : [mth(a, b)];
    const k = k2(b - a);
    return m <= k
      ? [...subproof(m, a, a + k, whole), mth(a + k, b)]
      : [...subproof(m - k, a + k, b, false), mth(a, a + k)];
  };
  return {
    root: (n: number) => mth(0, n),
    path: (m: number, n: number) => path(m, 0, n),
    proof: (m: number, n: number) => (m === 0 ? [] : subproof(m, 0, n, true)),
  };
}

// ---- the system under test: tiles built by appending in uneven batches ----

async function treeOf(leaves: Buffer[], batch = 37): Promise<{ node: NodeReader; tiles: Map<string, Tile> }> {
  const tiles = new Map<string, Tile>();
  const edge = await TreeEdge.open(0, async () => {
    throw new Error('an empty tree loads nothing');
  });
  for (let at = 0; at < leaves.length; at += batch) {
    for (const t of edge.append(leaves.slice(at, at + batch).map((l) => leafHash(l))))
      tiles.set(`${t.level}/${t.index}`, t.clone());
  }
  return { node: nodeReaderFor((k) => tiles.get(`${k.level}/${k.index}`)), tiles };
}

const data = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`entry ${i}`));
const b64 = (list: Uint8Array[]) => list.map((h) => Buffer.from(h).toString('base64'));

describe('Merkle proofs from tiles vs a brute-force RFC 6962 oracle', () => {
  it('the empty tree and single leaves', () => {
    assert.equal(EMPTY_ROOT.toString('base64'), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    assert.deepEqual(leafHash(Buffer.from('x')), sha(Buffer.of(0), Buffer.from('x')));
  });

  it('every size up to 300: root, every inclusion proof and every consistency proof match and verify', async () => {
    const leaves = data(300);
    const { node } = await treeOf(leaves, 7);
    const o = oracle(leaves);
    // One memo across every size and index, as the engine keeps it: its folds must never leak between ranges.
    const memo: RangeMemo = new Map();
    for (let n = 1; n <= 300; n++) {
      const root = o.root(n);
      assert.deepEqual(Buffer.from(rootAt(n, node)), root, `root at ${n}`);
      for (let m = 0; m < n; m++) {
        const p = inclusionProof(m, n, node);
        assert.deepEqual(b64(p), b64(o.path(m, n)), `inclusion ${m}/${n}`);
        assert.deepEqual(
          b64(inclusionProof(m, n, node, memo)),
          b64(o.path(m, n)),
          `inclusion ${m}/${n} with the range memo`,
        );
        assert.ok(verifyInclusion(m, n, leafHash(leaves[m] as Buffer), p, root), `verify inclusion ${m}/${n}`);
      }
      for (let m = 0; m <= n; m++) {
        const p = consistencyProof(m, n, node);
        assert.deepEqual(b64(p), b64(o.proof(m, n)), `consistency ${m}→${n}`);
        assert.ok(verifyConsistency(m, n, o.root(m), root, p), `verify consistency ${m}→${n}`);
      }
    }
  });

  it('random sizes up to 100,000 (uneven batches): proofs match the oracle', async () => {
    const leaves = data(100_000);
    const { node } = await treeOf(leaves, 1009);
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const o = oracle(leaves);
    for (let round = 0; round < 200; round++) {
      const n = 1 + rnd(100_000);
      const m = rnd(n);
      const old = 1 + rnd(n);
      const root = o.root(n);
      assert.deepEqual(Buffer.from(rootAt(n, node)), root);
      assert.deepEqual(b64(inclusionProof(m, n, node)), b64(o.path(m, n)), `inclusion ${m}/${n}`);
      const c = consistencyProof(old, n, node);
      assert.deepEqual(b64(c), b64(o.proof(old, n)), `consistency ${old}→${n}`);
      assert.ok(verifyConsistency(old, n, o.root(old), root, c));
    }
  });

  it('splits ranges into perfect subtrees exactly, up to 2^53 leaves', () => {
    // Math.log2 rounds near powers of two this large; a wrong split would pick unaligned subtrees.
    const check = (start: number, end: number) => {
      const parts = perfectSubtrees(start, end);
      let at = start;
      for (const [level, index] of parts) {
        assert.equal(index * 2 ** level, at, `[${start}, ${end}): part ${level}/${index} starts at ${at}`);
        at += 2 ** level;
      }
      assert.equal(at, end);
      for (let i = 1; i < parts.length; i++)
        assert.ok(
          (parts[i] as [number, number])[0] < (parts[i - 1] as [number, number])[0],
          'largest first, each smaller',
        );
      return parts;
    };
    assert.deepEqual(
      check(0, 2 ** 53 - 1).map(([l]) => l),
      Array.from({ length: 53 }, (_, i) => 52 - i),
    );
    assert.deepEqual(check(2 ** 52, 2 ** 53), [[52, 1]]);
    for (const h of [31, 32, 33, 47, 48, 49, 50, 51, 52]) {
      assert.deepEqual(check(0, 2 ** h), [[h, 0]]);
      assert.equal(check(0, 2 ** h - 1).length, h);
      assert.deepEqual(check(0, 2 ** h + 1), [
        [h, 0],
        [0, 2 ** h],
      ]);
    }
  });

  it('a proof reads few tiles: O(log n) tiles at 100,000 entries', async () => {
    const touched = tilesTouched((node) => inclusionProof(12_345, 100_000, node));
    assert.ok(touched.length <= 4, `touched ${touched.length} tiles`);
  });

  // Attack: any altered proof, index, size or root must fail verification.
  it('verifiers refuse every single-bit or off-by-one change', async () => {
    const leaves = data(1000);
    const { node } = await treeOf(leaves);
    const root = Buffer.from(rootAt(1000, node));
    const leaf = leafHash(leaves[617] as Buffer);
    const p = inclusionProof(617, 1000, node);
    assert.ok(verifyInclusion(617, 1000, leaf, p, root));
    for (let i = 0; i < p.length; i++) {
      const bad = p.map((h) => Buffer.from(h));
      (bad[i] as Buffer)[0]! ^= 1;
      assert.equal(verifyInclusion(617, 1000, leaf, bad, root), false, `hash ${i} flipped`);
    }
    assert.equal(verifyInclusion(616, 1000, leaf, p, root), false);
    assert.equal(verifyInclusion(617, 640, leaf, p, root), false, 'a size whose path has another shape');
    assert.equal(verifyInclusion(617, 1000, leaf, p.slice(1), root), false);
    assert.equal(verifyInclusion(617, 1000, leaf, [...p, root], root), false);
    assert.equal(verifyInclusion(1000, 1000, leaf, p, root), false);
    const oldRoot = Buffer.from(rootAt(600, node));
    const c = consistencyProof(600, 1000, node);
    assert.ok(verifyConsistency(600, 1000, oldRoot, root, c));
    assert.equal(verifyConsistency(601, 1000, oldRoot, root, c), false);
    assert.equal(verifyConsistency(600, 1000, root, root, c), false);
    assert.equal(verifyConsistency(600, 1000, oldRoot, root, c.slice(0, -1)), false);
    assert.equal(verifyConsistency(600, 1000, oldRoot, root, []), false);
    assert.equal(
      verifyConsistency(512, 1000, Buffer.from(rootAt(512, node)), root, []),
      false,
      'power of two old size, empty proof',
    );
    assert.equal(verifyConsistency(0, 1000, EMPTY_ROOT, root, c), false, 'from the empty tree the proof must be empty');
    assert.equal(verifyConsistency(1000, 1000, root, oldRoot, []), false, 'same size, other root');
  });

  it('InclusionChecker answers as verifyInclusion, also where a proof meets a path it verified before', async () => {
    const n = 1000;
    const leaves = data(n);
    const { node } = await treeOf(leaves);
    const root = Buffer.from(rootAt(n, node));
    const checker = new InclusionChecker(n, root);
    const leaf = (i: number) => leafHash(leaves[i] as Buffer);
    const proof = (i: number) => inclusionProof(i, n, node);
    const same = (i: number, l: Uint8Array, p: readonly Uint8Array[], why: string) => {
      const expected = verifyInclusion(i, n, l, p, root);
      assert.equal(checker.verify(i, l, p), expected, `${why}: verifyInclusion says ${expected}`);
      return expected;
    };
    // Neighbours first, so each change below meets nodes an earlier proof passed through.
    for (const i of [617, 616, 618, 619, 615, 999, 998, 0, 1, 511, 512]) {
      assert.ok(same(i, leaf(i), proof(i), `entry ${i}`));
      const p = proof(i);
      for (let k = 0; k < p.length; k++) {
        const bad = p.map((h) => Buffer.from(h));
        (bad[k] as Buffer)[31]! ^= 0x80;
        same(i, leaf(i), bad, `entry ${i}, hash ${k} flipped`);
      }
      same(i, leaf((i + 1) % n), p, `entry ${i} with its neighbour's leaf`);
      same(i, leaf(i), p.slice(0, -1), `entry ${i}, last hash dropped`);
      same(i, leaf(i), [...p, root], `entry ${i}, a hash added`);
      if (i + 1 < n) same(i + 1, leaf(i), p, `entry ${i}'s proof for index ${i + 1}`);
    }
    // The tails themselves: a sibling's proof with the shared part swapped for another path's.
    const a = proof(616);
    const b = proof(100);
    assert.equal(same(616, leaf(616), [...a.slice(0, 2), ...b.slice(2)], 'a foreign tail'), false);
    for (let i = 0; i < n; i++) assert.ok(checker.verify(i, leaf(i), proof(i)), `entry ${i}`);
    assert.equal(checker.verify(n, leaf(0), proof(0)), false, 'beyond the tree');
    assert.equal(
      new InclusionChecker(n, Buffer.from(rootAt(n - 1, node))).verify(5, leaf(5), proof(5)),
      false,
      'another root',
    );
  });

  it('tiles hold the same hashes whatever the batch sizes', async () => {
    const leaves = data(70_000);
    const a = await treeOf(leaves, 1);
    const b = await treeOf(leaves, 4096);
    assert.equal(a.tiles.size, b.tiles.size);
    for (const [k, t] of a.tiles) assert.ok(t.hashes().equals(b.tiles.get(k)?.hashes() as Buffer), k);
    // tlog-tiles' example: 70,000 entries → 273 full L0 tiles + an L0 partial of 112, one full L1, L1 partial 17, L2
    // partial 1
    const widths = [...a.tiles.values()].map((t) => `${t.level}:${t.width}`);
    assert.equal(widths.filter((w) => w === '0:256').length, 273);
    assert.ok(
      widths.includes('0:112') && widths.includes('1:256') && widths.includes('1:17') && widths.includes('2:1'),
    );
  });
});
