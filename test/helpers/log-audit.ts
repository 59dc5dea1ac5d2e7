// Checks what a crash test recorded against the log it leaves behind. Each check returns every
// problem it finds, one line each, so a failure shows what was lost or duplicated rather than only
// the first sign of it.
import { checkExtends } from '../../src/log/consistency.ts';
import { type Checkpoint, parseCheckpoint } from '../../src/log/checkpoint.ts';
import {
  consistencyProof,
  leafHash,
  type NodeReader,
  nodeHash,
  rootAt,
  verifyInclusion,
} from '../../src/log/merkle.ts';
import { parseNote } from '../../src/log/note.ts';
import type { Ack, EntrySource } from './write-load.ts';

const describe = (a: Ack) =>
  `entry ${a.id} (${a.status}${a.retry ? ' on a retry' : ''}, round ${a.round}) acknowledged at index ${a.index}`;

/**
 * Each acknowledgement on its own and against the others: its entry, its proof, one index per entry and one entry per
 * index.
 */
export function ackProblems(acks: readonly Ack[], entries: EntrySource): string[] {
  const problems: string[] = [];
  const firstAck = new Map<number, Ack>();
  const holder = new Map<number, number>();
  for (const a of acks) {
    const what = describe(a);
    if (entries.idOf(a.body) !== a.id) problems.push(`${what}: the body returned is not this entry`);
    if (a.status === 409 && a.indexHeader !== String(a.index))
      problems.push(`${what}: X-Log-Index is ${a.indexHeader}`);
    let root: Uint8Array | undefined;
    try {
      const cp = parseCheckpoint(parseNote(a.checkpoint).text);
      if (cp.size === a.treeSize) root = cp.rootHash;
    } catch {
      // reported below as a proof that does not verify
    }
    if (!root || !verifyInclusion(a.index, a.treeSize, leafHash(a.body), a.proof, root))
      problems.push(`${what}: the inclusion proof does not verify against its checkpoint`);
    const first = firstAck.get(a.id);
    if (first && first.index !== a.index) problems.push(`${what}: it was acknowledged at index ${first.index} before`);
    else if (first && a.status === 201)
      problems.push(`${what}: appended again after its acknowledgement at index ${first.index}`);
    const other = holder.get(a.index);
    if (other !== undefined && other !== a.id)
      problems.push(`${what}: index ${a.index} was acknowledged to entry ${other} too`);
    if (!first) firstAck.set(a.id, a);
    if (other === undefined) holder.set(a.index, a.id);
  }
  return problems;
}

/** The final log: only entries the test posted, each once, and every acknowledged one where it was acknowledged. */
export function finalLogProblems(log: readonly Buffer[], acks: readonly Ack[], entries: EntrySource): string[] {
  const problems: string[] = [];
  const indexOf = new Map<number, number>();
  for (const [i, e] of log.entries()) {
    const id = entries.idOf(e);
    const before = id === undefined ? undefined : indexOf.get(id);
    if (id === undefined) problems.push(`index ${i} holds an entry the test never posted`);
    else if (before !== undefined) problems.push(`entry ${id} is in the log twice, at indices ${before} and ${i}`);
    else indexOf.set(id, i);
  }
  for (const a of acks) {
    const now = log[a.index];
    if (!now)
      problems.push(
        `${describe(a)}: lost, the log ends at ${log.length}` +
          `${indexOf.has(a.id) ? ` (the entry is at index ${indexOf.get(a.id)})` : ''}`,
      );
    else if (!now.equals(a.body))
      problems.push(
        `${describe(a)}: lost, index ${a.index} holds entry ${entries.idOf(now)}` +
          `${indexOf.has(a.id) ? ` and the entry is at ${indexOf.get(a.id)}` : ''}`,
      );
  }
  return problems;
}

/** RFC 6962 nodes of the tree over `entries`, computed here rather than read from the log's tiles. */
export function memoryTree(entries: readonly Uint8Array[]): NodeReader {
  const levels: Buffer[][] = [entries.map((e) => leafHash(e))];
  for (let below = levels[0] as Buffer[]; below.length > 1;) {
    const up: Buffer[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) up.push(nodeHash(below[i] as Buffer, below[i + 1] as Buffer));
    levels.push(up);
    below = up;
  }
  return (level, index) => {
    const hash = levels[level]?.[index];
    if (!hash) throw new RangeError(`no node ${level}/${index} in a tree of ${entries.length}`);
    return hash;
  };
}

/**
 * Every checkpoint verifies with the log key (`open` throws otherwise) and is consistent with the final
 * tree, by a consistency proof computed from the final entries.
 */
export function checkpointProblems(
  notes: Iterable<string>,
  open: (note: string) => unknown,
  final: Checkpoint,
  tree: NodeReader,
): string[] {
  const problems: string[] = [];
  for (const note of notes) {
    const head = note.split('\n', 2).join(' ');
    let cp: Checkpoint;
    try {
      open(note);
      cp = parseCheckpoint(parseNote(note).text);
    } catch (err) {
      problems.push(`checkpoint '${head}' does not verify with the log key: ${(err as Error).message}`);
      continue;
    }
    if (cp.size > final.size) {
      problems.push(`checkpoint '${head}' is ahead of the final tree (size ${final.size})`);
      continue;
    }
    try {
      checkExtends(cp, final, consistencyProof(cp.size, final.size, tree));
    } catch (err) {
      problems.push(`checkpoint '${head}': ${(err as Error).message}`);
    }
  }
  let root: Uint8Array | undefined;
  try {
    root = rootAt(final.size, tree);
  } catch {
    // fewer entries than the checkpoint counts
  }
  if (!root || !Buffer.from(root).equals(final.rootHash))
    problems.push(`the final entries do not hash to the final checkpoint's root (size ${final.size})`);
  return problems;
}
