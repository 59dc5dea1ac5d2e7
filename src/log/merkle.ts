// RFC 6962 / RFC 9162 Merkle trees: hashing, proof generation over stored perfect subtrees, and proof
// verification. Sizes and indices are plain numbers (safe up to 2^53) and never go through 32-bit
// bitwise operators, which would silently wrap past 2^31 entries.
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;

/** MTH({}) = SHA-256(""). */
export const EMPTY_ROOT: Buffer = hash('sha256', new Uint8Array(0), 'buffer');

// One-shot crypto.hash over the prefixed bytes: half the cost of a Hash object per call, and a log
// hashes a dozen nodes for every proof it checks and every entry it appends.
export function leafHash(entry: Uint8Array): Buffer {
  const message = Buffer.allocUnsafe(1 + entry.length);
  message[0] = 0x00;
  message.set(entry, 1);
  return hash('sha256', message, 'buffer');
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const message = Buffer.allocUnsafe(1 + left.length + right.length);
  message[0] = 0x01;
  message.set(left, 1);
  message.set(right, 1 + left.length);
  return hash('sha256', message, 'buffer');
}

/**
 * The hash of the perfect subtree at tree level `level` (leaves are level 0), index `index`: it covers
 * leaves [index·2^level, (index+1)·2^level). Storage answers these from tiles.
 */
export type NodeReader = (level: number, index: number) => Uint8Array;

/** The largest power of two strictly below n (n ≥ 2): RFC 6962's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** floor(log2(n)) for 1 ≤ n ≤ 2^53, exact: Math.log2 may round across a power of two, so it is corrected. */
function log2Floor(n: number): number {
  let h = Math.floor(Math.log2(n));
  if (2 ** h > n) h--;
  else if (2 ** (h + 1) <= n) h++;
  return h;
}

/** The perfect subtrees [level, index] that make up leaves [start, end), largest (leftmost) first. */
export function perfectSubtrees(start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = start;
  while (at < end) {
    // the largest aligned power of two that starts at `at` and fits
    let h = log2Floor(end - at);
    while (at % 2 ** h !== 0) h--;
    out.push([h, at / 2 ** h]);
    at += 2 ** h;
  }
  return out;
}

/**
 * Folded hashes of ranges that are not one perfect subtree, by "start-end". Only for ranges of leaves
 * that can no longer change (committed), and never filled from a computation over placeholder hashes.
 */
export type RangeMemo = Map<string, Uint8Array>;

/** MTH(D[start:end]): a perfect node, or a right-border range folded from its perfect subtrees. */
export function rangeHash(start: number, end: number, node: NodeReader, memo?: RangeMemo): Uint8Array {
  if (end <= start) return EMPTY_ROOT;
  // Most ranges a proof asks for are one perfect subtree: no list to build.
  const width = end - start;
  const h = log2Floor(width);
  if (2 ** h === width && start % width === 0) return node(h, start / width);
  const id = `${start}-${end}`;
  const known = memo?.get(id);
  if (known) return known;
  const parts = perfectSubtrees(start, end);
  // RFC 6962 hashes the right border as a right-leaning chain: fold from the right.
  let acc = node(...(parts.pop() as [number, number]));
  for (let i = parts.length - 1; i >= 0; i--) acc = nodeHash(node(...(parts[i] as [number, number])), acc);
  memo?.set(id, acc);
  return acc;
}

export function rootAt(size: number, node: NodeReader): Uint8Array {
  return rangeHash(0, size, node);
}

/**
 * RFC 6962 §2.1.1 PATH(m, D[0:size]), leaf to root. Every proof at one size folds the same right border: `memo` keeps
 * it.
 */
export function inclusionProof(index: number, size: number, node: NodeReader, memo?: RangeMemo): Uint8Array[] {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    throw new RangeError(`no inclusion proof for index ${index} in a tree of size ${size}`);
  }
  const siblings: Uint8Array[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      siblings.push(rangeHash(start + k, end, node, memo));
      end = start + k;
    } else {
      siblings.push(rangeHash(start, start + k, node, memo));
      start += k;
    }
  }
  return siblings.reverse();
}

/** RFC 6962 §2.1.2 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
export function consistencyProof(oldSize: number, newSize: number, node: NodeReader): Uint8Array[] {
  if (!(Number.isSafeInteger(oldSize) && Number.isSafeInteger(newSize) && oldSize >= 0 && oldSize <= newSize)) {
    throw new RangeError(`no consistency proof from size ${oldSize} to ${newSize}`);
  }
  if (oldSize === 0 || oldSize === newSize) return [];
  const out: Uint8Array[] = [];
  // SUBPROOF(m, D[start:end], whole), unrolled: each step records one hash, outermost first.
  let m = oldSize;
  let start = 0;
  let end = newSize;
  let whole = true;
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      out.push(rangeHash(start + k, end, node));
      end = start + k;
    } else {
      out.push(rangeHash(start, start + k, node));
      m -= k;
      start += k;
      whole = false;
    }
  }
  if (!whole) out.push(rangeHash(start, end, node));
  return out.reverse();
}

const half = (n: number) => Math.floor(n / 2);
const odd = (n: number) => n % 2 === 1;

/**
 * The walk both RFC 9162 verifiers make: for each proof hash, whether it is a left sibling (hashed
 * in front) or a right one. False when the path is longer than the tree is high, or ends below the root.
 * `known`, when given, is asked before each step where the walk stands (proof hash k next, at node
 * `node` of level `level`); answering true ends the walk there as 'known'.
 */
function walkProof(
  first: number,
  last: number,
  proof: readonly Uint8Array[],
  visit: (hash: Uint8Array, left: boolean) => void,
  known?: (k: number, level: number, node: number) => boolean,
): boolean | 'known' {
  let fn = first;
  let sn = last;
  let level = 0;
  for (const [k, p] of proof.entries()) {
    if (known?.(k, level, fn)) return 'known';
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      visit(p, true);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
        level++;
      }
    } else {
      visit(p, false);
    }
    fn = half(fn);
    sn = half(sn);
    level++;
  }
  return sn === 0;
}

/** RFC 9162 §2.1.3.2. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  let r: Uint8Array = leaf;
  const complete = walkProof(index, size - 1, proof, (p, left) => {
    r = left ? nodeHash(p, r) : nodeHash(r, p);
  });
  return complete === true && Buffer.from(r).equals(root);
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/**
 * Checks many inclusion proofs against one tree head, with verifyInclusion's answers: a log checks the
 * proof of every entry it answers, and the paths of a batch's neighbouring entries meet a few levels
 * up. Where a proof's walk stands at a node with the hash an earlier verified walk had there, and its
 * remaining hashes are that walk's remaining hashes, the rest is that same walk (every step depends on
 * those alone): it ends there, verified, instead of hashing its way up again.
 */
export class InclusionChecker {
  readonly size: number;
  readonly root: Buffer;
  /** Per node ("level/index") an earlier verified walk stood at: its hash there and what followed. */
  readonly #passed = new Map<string, { hash: Uint8Array; proof: readonly Uint8Array[]; from: number }>();

  constructor(size: number, root: Uint8Array) {
    this.size = size;
    this.root = Buffer.from(root);
  }

  verify(index: number, leaf: Uint8Array, proof: readonly Uint8Array[]): boolean {
    const { size } = this;
    if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
    let r: Uint8Array = leaf;
    const walked: Array<{ key: string; hash: Uint8Array; from: number }> = [];
    const end = walkProof(
      index,
      size - 1,
      proof,
      (p, left) => {
        r = left ? nodeHash(p, r) : nodeHash(r, p);
      },
      (k, level, node) => {
        const key = `${level}/${node}`;
        const before = this.#passed.get(key);
        if (before && sameBytes(before.hash, r) && sameTail(before.proof, before.from, proof, k)) return true;
        walked.push({ key, hash: r, from: k });
        return false;
      },
    );
    const verified = end === 'known' || (end === true && sameBytes(r, this.root));
    if (verified) for (const w of walked) this.#passed.set(w.key, { hash: w.hash, proof, from: w.from });
    return verified;
  }
}

function sameTail(a: readonly Uint8Array[], from: number, b: readonly Uint8Array[], at: number): boolean {
  if (a.length - from !== b.length - at) return false;
  for (let i = 0; from + i < a.length; i++)
    if (!sameBytes(a[from + i] as Uint8Array, b[at + i] as Uint8Array)) return false;
  return true;
}

/** RFC 9162 §2.1.4.2. */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!(Number.isSafeInteger(oldSize) && Number.isSafeInteger(newSize) && oldSize >= 0 && oldSize <= newSize))
    return false;
  if (oldSize === newSize) return proof.length === 0 && Buffer.from(oldRoot).equals(newRoot);
  if (oldSize === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = 2 ** log2Floor(oldSize) === oldSize ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  const complete = walkProof(fn, sn, path.slice(1), (c, left) => {
    if (left) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
    } else {
      sr = nodeHash(sr, c);
    }
  });
  return complete === true && Buffer.from(fr).equals(oldRoot) && Buffer.from(sr).equals(newRoot);
}
