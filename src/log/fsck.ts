// A full check of a log's storage, entry by entry: what `audit verify` runs. Unlike the
// engine's start-up check (which refuses to run on the first problem), it reads everything and
// reports each problem with the index it concerns, so an edited, deleted or reordered entry is named.
//
// Each entry's bytes are compared with the leaf hash the log recorded for its index (level-0 tiles);
// then the whole tree is rebuilt from the entries alone and its root compared with the signed
// checkpoint. Someone who rewrites entries and tiles together still cannot re-sign
// the checkpoint, so the last check catches them (and `--since` pins an older checkpoint too).
import { AirlockError } from '../errors.ts';
import type { CheckpointSigner } from './engine.ts';
import { HASH_SIZE, leafHash, type NodeReader, rootAt } from './merkle.ts';
import type { LogReader } from './storage.ts';
import { nodeReaderFor, Tile, TILE_WIDTH, TreeEdge } from './tiles.ts';

export interface LogProblem {
  /** The entry concerned, when the problem is one entry's. */
  readonly index?: number;
  readonly problem: string;
}

export interface FsckResult {
  readonly size: number;
  readonly root: Uint8Array;
  readonly checkpoint: string;
  readonly problems: LogProblem[];
  /**
   * The tree rebuilt from the entries alone: proofs from it (e.g. consistency with a pinned checkpoint) speak for the
   * entries.
   */
  readonly rebuilt: NodeReader;
}

export interface FsckOptions {
  /** Called with each entry as it is checked (index, bytes), e.g. to parse events. */
  readonly onEntry?: (index: number, data: Uint8Array) => void;
}

export async function fsckLog(
  storage: LogReader,
  open: CheckpointSigner['open'],
  options: FsckOptions = {},
): Promise<FsckResult> {
  const problems: LogProblem[] = [];
  const state = await storage.readState();
  if (!state)
    throw new AirlockError('E_INPUT_MISSING', 'the log has no state: it was never created, or its state was removed');
  // The signed root is the reference: state and tiles can be rewritten, the signature cannot.
  let signedRoot: Uint8Array = state.root;
  try {
    const signed = open(state.checkpoint);
    if (signed.size !== state.size || !Buffer.from(signed.root).equals(state.root))
      problems.push({
        problem: `the stored state (size ${state.size}) is not what its signed checkpoint says (size ${signed.size})`,
      });
    if (signed.size === state.size) signedRoot = signed.root;
  } catch (err) {
    problems.push({ problem: `the stored checkpoint does not verify with the log key: ${(err as Error).message}` });
  }
  // Rebuild the tree from the entries alone, comparing with the stored tiles as we go.
  const rebuilt = await TreeEdge.open(0, async () => {
    throw new AirlockError('E_INTERNAL', 'an empty tree loads no tiles');
  });
  const full = new Map<string, Tile>();
  for (let start = 0; start < state.size; start += TILE_WIDTH) {
    const end = Math.min(start + TILE_WIDTH, state.size);
    const present = new Map((await storage.listEntries(start, end)).map((e) => [e.index, e.data]));
    const stored = await storage.readTile(0, start / TILE_WIDTH);
    const storedHashes = stored ? Tile.decode(0, start / TILE_WIDTH, stored.width, stored.bytes).hashes() : undefined;
    const leaves: Uint8Array[] = [];
    for (let i = start; i < end; i++) {
      const data = present.get(i);
      const at = (i - start) * HASH_SIZE;
      const tileHash = storedHashes && at < storedHashes.length ? storedHashes.subarray(at, at + HASH_SIZE) : undefined;
      if (!data) {
        problems.push({ index: i, problem: 'missing: the entry is not in storage (deleted?)' });
        // Rebuild with what the log recorded, so one hole does not hide problems after it.
        leaves.push(tileHash ?? Buffer.alloc(HASH_SIZE));
        continue;
      }
      const leaf = leafHash(data);
      leaves.push(leaf);
      options.onEntry?.(i, data);
      if (!tileHash) problems.push({ index: i, problem: 'the log has no hash for this entry (tile missing or short)' });
      else if (!leaf.equals(tileHash))
        problems.push({
          index: i,
          problem:
            'changed: its bytes do not hash to what the log recorded at this index (edited, or ' +
            'moved here from another index)',
        });
    }
    for (const t of rebuilt.append(leaves)) if (t.full) full.set(`${t.level}/${t.index}`, t.clone());
  }
  const reader = nodeReaderFor((k) => rebuilt.tile(k) ?? full.get(`${k.level}/${k.index}`));
  const root = rootAt(state.size, reader);
  if (!Buffer.from(root).equals(signedRoot))
    problems.push({ problem: `the entries rebuild a tree whose root is not the signed one at size ${state.size}` });
  for (const extra of await storage.listEntries(state.size, Number.MAX_SAFE_INTEGER)) {
    problems.push({ index: extra.index, problem: 'stored beyond the signed size: added without being logged' });
  }
  return { size: state.size, root: signedRoot, checkpoint: state.checkpoint, problems, rebuilt: reader };
}
