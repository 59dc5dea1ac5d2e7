// The Merkle log engine, shared by the on-prem transparency log and the audit trail.
//
// Appends are sequenced in batches (group commit): one storage transaction per batch writes the
// entries, the tiles they change, and the new state with its signed checkpoint, and commits durably;
// only then are the appends acknowledged, each with the checkpoint that covers it (recorded as the
// last signed one and, with a witness step, cosigned by the witnesses first). So an acknowledged entry
// is always durable and signed, and a checkpoint is visible only together with the tiles it commits to.
// Before signing, the engine proves from its own tiles that the new tree is consistent with the last
// one it signed: a bug or a damaged tile stops the log instead of forking it.
//
// At start-up it re-derives the root from stored tiles, checks it against the stored signed
// checkpoint, and checks storage is not behind the last checkpoint it signed (kept outside storage,
// see LastSignedStore): a restored backup must not silently rewrite history.
import { hash } from 'node:crypto';
import { BoundedMap } from '../bounded-map.ts';
import { AirlockError } from '../errors.ts';
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  type NodeReader,
  type RangeMemo,
  rootAt,
  verifyConsistency,
} from './merkle.ts';
import type { LogReader, LogState, LogStorage, LogWriteTx } from './storage.ts';
import {
  MAX_ENTRY_SIZE,
  nodeReaderFor,
  Tile,
  type TileKey,
  TILE_WIDTH,
  TreeEdge,
  tileOfNode,
  tilesTouched,
} from './tiles.ts';

/** Signs and opens this log's checkpoints (note format and keys live in checkpoint.ts / note.ts). */
export interface CheckpointSigner {
  readonly origin: string;
  sign(size: number, root: Uint8Array): Promise<string>;
  /** Opens a note signed by this log's key; throws when it is not one. */
  open(note: string): { size: number; root: Uint8Array };
}

/** The last checkpoint this log signed, kept apart from storage so a rolled-back database shows. */
export interface LastSignedStore {
  read(): Promise<string | undefined>;
  /**
   * Every record, when the checkpoint is kept in several places (newest-last-signed.ts): each must be
   * one the log extends, and each is brought up to date. Without it, `read` is the one record.
   */
  readAll?(): Promise<Array<string | undefined>>;
  /** `seen`: what readAll answered just before, so the store need not read its places again. */
  write(note: string, seen?: ReadonlyArray<string | undefined>): Promise<void>;
}

export interface LogEngineOptions {
  readonly storage: LogStorage;
  readonly checkpoints: CheckpointSigner;
  readonly lastSigned?: LastSignedStore;
  /** Entries per batch at most (default 1024). */
  readonly maxBatch?: number;
  /** Full tiles kept in memory (default 1024, 16 MiB). */
  readonly cacheTiles?: number;
  /**
   * Gathers witness cosignatures for a checkpoint the log just signed and recorded, returning the note
   * to publish (the log's signature plus theirs). A rejection fails the batch's callers, as a failure to
   * record the checkpoint does: their entries are durable, and a retry answers them once it succeeds.
   */
  readonly witness?: (checkpoint: string) => Promise<string>;
  /** Called after each committed batch, for metrics. */
  readonly onBatch?: (batch: {
    readonly appended: number;
    readonly duplicates: number;
    readonly ms: number;
    readonly size: number;
  }) => void;
}

export interface AppendResult {
  readonly index: number;
  /** The entry was already in the log: `index` is where it was logged before. */
  readonly duplicate: boolean;
  /** The checkpoint acknowledging it, its tree size and root hash. */
  readonly checkpoint: string;
  readonly size: number;
  readonly root: Uint8Array;
}

interface Pending {
  readonly data: Uint8Array;
  readonly identity: Buffer;
  readonly resolve: (r: AppendResult) => void;
  readonly reject: (err: unknown) => void;
}

const keyOf = (k: TileKey) => `${k.level}/${k.index}`;
const corrupt = (message: string) =>
  new AirlockError('E_LOG_CORRUPT', message, {
    hint: 'restore the log from a backup no older than its last signed checkpoint, or investigate who changed it',
  });

const rollback = (why: string, details: Record<string, number>) =>
  new AirlockError('E_LOG_ROLLBACK', `the log's storage ${why}; it refuses to run rather than sign a second history`, {
    hint:
      'restore the newest backup of the database; if entries after it are lost, recover them ' +
      'or retire the log (docs/log.md, "Backup and restore"): deleting the last-signed ' +
      'checkpoint file does not get around this',
    details,
  });

const NOT_AT_HAND = Symbol('tile not at hand');
// Right-border folds of committed ranges: about 2·log2(size) per tree size proofs are served at.
const RANGE_MEMO_LIMIT = 4096;

interface Committed {
  readonly state: LogState;
  readonly results: ReadonlyArray<{ index: number; duplicate: boolean }>;
  readonly started: number;
}

const sameState = (a: LogState, b: LogState) =>
  a.size === b.size && a.checkpoint === b.checkpoint && Buffer.from(a.root).equals(b.root);

export function entryIdentity(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer');
}

export class LogEngine {
  readonly #storage: LogStorage;
  readonly #checkpoints: CheckpointSigner;
  readonly #lastSigned: LastSignedStore | undefined;
  readonly #maxBatch: number;
  readonly #onBatch: LogEngineOptions['onBatch'];
  readonly #witness: LogEngineOptions['witness'];
  /** Full tiles, as read or committed; the one kept longest goes first (a hit does not keep one longer). */
  readonly #cache: BoundedMap<string, Tile>;
  readonly #ranges: RangeMemo = new Map();
  /** What storage holds: committed, durable. */
  #state: LogState;
  /** What the log has published: committed, recorded as the last signed checkpoint, and witnessed. */
  #published: LogState;
  /** The publication in flight (at most one): the next batch commits meanwhile. */
  #publishing: Promise<void> = Promise.resolve();
  #edge: TreeEdge;
  /** Records of the last signed checkpoint as last read or written, and the sizes they open to. */
  readonly #recordSizes = new BoundedMap<string, number>(8, { order: 'insertion' });
  #queue: Pending[] = [];
  #draining: Promise<void> | undefined;
  #closed = false;

  private constructor(options: LogEngineOptions, state: LogState, edge: TreeEdge) {
    this.#storage = options.storage;
    this.#checkpoints = options.checkpoints;
    this.#lastSigned = options.lastSigned;
    this.#maxBatch = options.maxBatch ?? 1024;
    this.#cache = new BoundedMap(options.cacheTiles ?? 1024, { order: 'insertion' });
    this.#onBatch = options.onBatch;
    this.#witness = options.witness;
    this.#state = state;
    this.#published = state;
    this.#edge = edge;
  }

  /** Opens (creating an empty, signed log if storage is empty) and runs the start-up checks. */
  static async open(options: LogEngineOptions): Promise<LogEngine> {
    const { storage, checkpoints } = options;
    const { state, edge } = await snapshot(storage, async (tx) => {
      const empty: LogState = { size: 0, root: EMPTY_ROOT, checkpoint: await checkpoints.sign(0, EMPTY_ROOT) };
      await tx.putState(empty);
      return empty;
    });
    const engine = new LogEngine(options, state, edge);
    await engine.#checkAtStart();
    return engine;
  }

  get origin(): string {
    return this.#checkpoints.origin;
  }

  /** The latest checkpoint this engine committed or saw. */
  get checkpoint(): string {
    return this.#published.checkpoint;
  }

  get size(): number {
    return this.#published.size;
  }

  get root(): Uint8Array {
    return this.#published.root;
  }

  async #checkAtStart(): Promise<void> {
    const state = this.#state;
    this.#checkStoredState(state, ': a different --key than the log was created with, or a changed checkpoint');
    const derived = rootAt(state.size, this.#edgeReader(this.#edge));
    if (!Buffer.from(derived).equals(state.root))
      throw corrupt(`the tiles re-derive another root than the signed checkpoint at size ${state.size}`);
    if (!this.#lastSigned) return;
    const records = (await this.#readRecords()).filter((r): r is string => r !== undefined);
    if (records.length === 0) {
      // Only a log that never signed beyond the empty tree may lack the record: a missing file is
      // otherwise how a restored older database would be laundered (delete it, and nothing compares).
      if (state.size > 0) {
        throw new AirlockError(
          'E_LOG_ROLLBACK',
          `the log holds ${state.size} entries but the record of the last checkpoint it signed ` +
            `is missing; it refuses to run rather than trust storage it cannot compare`,
          {
            hint:
              'restore the last-signed checkpoint file from the same backup as the database ' +
              '(docs/log.md, "Backup and restore", says what else can be done)',
          },
        );
      }
      await this.#recordLastSigned(state);
      return;
    }
    // Every record, not only the newest: a record of another history (a restored database extended by a
    // process without this host's file) is as much a fork as one the storage is behind.
    const signed = records.map((note) => this.#openRecord(note));
    const newest = Math.max(...signed.map((b) => b.size));
    if (newest > state.size) {
      // Another process sharing this storage may have committed (and recorded) since the snapshot.
      const fresh = await snapshot(this.#storage);
      if (fresh.state.size < newest)
        throw rollback(`is at size ${fresh.state.size}, behind the checkpoint it signed at size ${newest}`, {
          storedSize: fresh.state.size,
          signedSize: newest,
        });
      this.#state = this.#published = fresh.state;
      this.#edge = fresh.edge;
      return this.#checkAtStart();
    }
    for (const before of signed) {
      const details = { storedSize: state.size, signedSize: before.size };
      if (before.size === state.size && !Buffer.from(before.root).equals(state.root))
        throw rollback(`holds another tree than the checkpoint it signed at size ${state.size}`, details);
      if (before.size < state.size) {
        const proof = await this.#prove((node) => consistencyProof(before.size, state.size, node), this.#edge);
        if (!verifyConsistency(before.size, state.size, before.root, state.root, proof))
          throw rollback(`is not consistent with the checkpoint it signed at size ${before.size}`, details);
      }
    }
    await this.#recordLastSigned(state);
  }

  #openRecord(note: string): { size: number; root: Uint8Array } {
    try {
      return this.#checkpoints.open(note);
    } catch (err) {
      throw new AirlockError(
        'E_LOG_ROLLBACK',
        `the last signed checkpoint kept beside the log does not open with this log's key: ${(err as Error).message}`,
      );
    }
  }

  async #readRecords(): Promise<Array<string | undefined>> {
    const store = this.#lastSigned;
    if (!store) return [];
    return store.readAll ? store.readAll() : [await store.read()];
  }

  /**
   * Storage that changed behind this engine (another process appended) must extend what it knew: a
   * database that went back (a restore, a promoted replica that lagged) or forked under a running log
   * stops it rather than have it sign a second history.
   */
  async #checkExtends(known: LogState, current: LogState, edge: TreeEdge, reader?: LogReader): Promise<void> {
    const details = { storedSize: current.size, signedSize: known.size };
    if (current.size < known.size)
      throw rollback(`went back to size ${current.size}, behind size ${known.size} this log committed`, details);
    const proof = await this.#prove(
      (node) => consistencyProof(known.size, current.size, node),
      edge,
      undefined,
      reader,
    );
    if (!verifyConsistency(known.size, current.size, known.root, current.root, proof))
      throw rollback(`at size ${current.size} is not consistent with size ${known.size} this log committed`, details);
  }

  /**
   * Catches up with what another process committed to the shared storage (a standby following the
   * sequencer), once that is shown to extend what this engine served: its checkpoint signs its state,
   * its tiles re-derive its root, and a consistency proof from the tree served before verifies. A
   * storage that went back or forked is refused (E_LOG_ROLLBACK) and the engine keeps what it had.
   */
  async refresh(): Promise<boolean> {
    const known = this.#published;
    const stored = await this.#storage.readState();
    if (stored && sameState(stored, this.#state)) return false;
    const fresh = await snapshot(this.#storage);
    const { state } = fresh;
    if (sameState(state, this.#state)) return false;
    this.#checkStoredState(state);
    if (!Buffer.from(rootAt(state.size, this.#edgeReader(fresh.edge))).equals(state.root))
      throw corrupt(`the tiles re-derive another root than the signed checkpoint at size ${state.size}`);
    // What this process served stays served: storage behind or forked from it is refused.
    await this.#checkExtends(known, state, fresh.edge);
    // Another refresh may have finished meanwhile with a newer state: never step back to this one.
    if (state.size < this.#published.size) return false;
    this.#state = this.#published = state;
    this.#edge = fresh.edge;
    return true;
  }

  /**
   * Before a process that was a standby starts sequencing: caught up with storage, and storage checked
   * against the last checkpoint recorded as signed (by any process), as at start-up.
   */
  async checkBeforeSequencing(): Promise<void> {
    await this.refresh();
    await this.#checkAtStart();
  }

  /** Appends one entry; resolves once it is durable and covered by a signed checkpoint. */
  append(data: Uint8Array): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new AirlockError('E_UNAVAILABLE', 'the log is closing'));
    if (data.length > MAX_ENTRY_SIZE) {
      return Promise.reject(
        new AirlockError(
          'E_INPUT_MALFORMED',
          `a log entry is at most ${MAX_ENTRY_SIZE} bytes, this one is ${data.length}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ data, identity: entryIdentity(data), resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  // Group commit, pipelined: while one batch is published (its checkpoint recorded in the
  // last-signed file, fsync'd, then its callers answered), the next one commits. Publications stay in
  // order and at most one is in flight, so no caller is answered before its batch is durable and
  // covered by a checkpoint that is itself on record.
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        let committed: Committed;
        try {
          committed = await this.#commit(batch);
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
        await this.#publishing;
        // Whatever goes wrong in a publication settles its callers (answering one twice is a no-op),
        // and never the chain: the next batch's publication waits on this one, and must not inherit
        // its failure.
        this.#publishing = this.#publish(batch, committed).catch((err: unknown) => {
          for (const p of batch) p.reject(err);
        });
      }
    } finally {
      // Cleared in the same step that found the queue empty: an append queued after that starts a
      // new drain instead of joining one that has already finished.
      this.#draining = undefined;
    }
  }

  async #commit(batch: Pending[]): Promise<Committed> {
    const started = performance.now();
    const results: Array<{ index: number; duplicate: boolean }> = [];
    const committed = await this.#storage.write(async (tx) => {
      const current = await tx.readState();
      if (!current) throw corrupt('the log state disappeared');
      // Another process may have appended since we last looked: continue from what storage holds, once
      // its checkpoint is shown to sign that size and root (a batch of duplicates answers with them).
      const moved = !sameState(current, this.#state);
      if (moved) this.#checkStoredState(current);
      const edge = current.size === this.#edge.size ? this.#edge : await loadEdge(tx, current.size);
      if (moved) await this.#checkExtends(this.#state, current, edge, tx);
      // Storage stores each entry once and says where the others already are: the unique index it
      // checks on insert anyway is the duplicate check, not a second lookup per entry.
      const stored = await tx.appendEntries(current.size, batch);
      const fresh: Uint8Array[] = [];
      for (const [i, p] of batch.entries()) {
        const r = stored[i];
        if (!r)
          throw new AirlockError('E_INTERNAL', `log storage answered ${stored.length} of ${batch.length} appends`);
        if (!r.duplicate) {
          if (r.index !== current.size + fresh.length)
            throw corrupt(`storage put a new entry at index ${r.index}, not ${current.size + fresh.length}`);
          fresh.push(p.data);
        } else if (!(r.index >= 0 && r.index < current.size + fresh.length)) {
          throw corrupt(
            `storage found an entry at index ${r.index}, beyond the log's size ${current.size + fresh.length}`,
          );
        }
        results.push(r);
      }
      if (fresh.length === 0) return { state: current, edge, changed: [] as Tile[] };
      const next = edge.clone();
      const changed = next.append(fresh.map((data) => leafHash(data)));
      const overlay = new Map(changed.map((t) => [keyOf(t), t]));
      const root = rootAt(next.size, this.#edgeReader(next));
      const proof = await this.#prove((node) => consistencyProof(current.size, next.size, node), next, overlay, tx);
      if (!verifyConsistency(current.size, next.size, current.root, root, proof)) {
        throw corrupt(
          `the new tree at size ${next.size} is not consistent with the signed one at size ` +
            `${current.size}; nothing was signed`,
        );
      }
      const state: LogState = { size: next.size, root, checkpoint: await this.#checkpoints.sign(next.size, root) };
      await tx.putTiles(changed.map((t) => ({ level: t.level, index: t.index, width: t.width, bytes: t.encode() })));
      await tx.putState(state);
      return { state, edge: next, changed };
    });
    // Durable from here on.
    this.#state = committed.state;
    this.#edge = committed.edge;
    for (const t of committed.changed) if (t.full) this.#cache.set(keyOf(t), t);
    return { state: committed.state, results, started };
  }

  /**
   * Records the batch's checkpoint as the last signed one, has it witnessed, then answers its callers.
   * Never rejects.
   */
  async #publish(batch: Pending[], committed: Committed): Promise<void> {
    const { results, started } = committed;
    let state = committed.state;
    try {
      // Also for a batch of duplicates only: what they are answered with must be on record too (the
      // batch that logged them may have failed to record it, or run in a process that crashed).
      // Recorded before witnesses see it: once it has left the log, it must never be signed over.
      await this.#recordLastSigned(state);
      if (this.#witness) state = { ...state, checkpoint: await this.#witness(state.checkpoint) };
    } catch (err) {
      // Durable but not on record, or not witnessed: the callers are not told it is logged (a retry
      // answers them once it is).
      for (const p of batch) p.reject(err);
      return;
    }
    if (state.size >= this.#published.size) this.#published = state;
    const { checkpoint, size, root } = state;
    for (const [i, p] of batch.entries())
      p.resolve({ ...(results[i] as { index: number; duplicate: boolean }), checkpoint, size, root });
    const appended = results.filter((r) => !r.duplicate).length;
    try {
      this.#onBatch?.({ appended, duplicates: results.length - appended, ms: performance.now() - started, size });
    } catch {
      // Metrics only: a callback that fails loses its figure, never a batch or the batches after it.
    }
  }

  /**
   * Has the latest checkpoint witnessed: at start-up, before any append, a log with entries would
   * otherwise publish it with its own signature only until the next write. Rejects when the
   * witnesses do; the log keeps serving what it had.
   */
  async witnessLatest(): Promise<void> {
    const witness = this.#witness;
    if (!witness) return;
    await this.#publishing;
    const state = this.#published;
    await this.#recordLastSigned(state);
    const checkpoint = await witness(state.checkpoint);
    // A batch published meanwhile (appends did not wait for this) is newer: keep it.
    if (this.#published === state) this.#published = { ...state, checkpoint };
  }

  /** The stored state is what its checkpoint signs; anything else is storage changed behind the log. */
  #checkStoredState(state: LogState, why = ''): void {
    let signed: { size: number; root: Uint8Array };
    try {
      signed = this.#checkpoints.open(state.checkpoint);
    } catch (err) {
      throw corrupt(`the stored checkpoint does not open with this log's key (${(err as Error).message})${why}`);
    }
    if (signed.size !== state.size || !Buffer.from(signed.root).equals(state.root)) {
      throw corrupt(
        `the stored state (size ${state.size}) is not what its signed checkpoint says (size ${signed.size})`,
      );
    }
  }

  /**
   * Never moves a record backwards (another process may have recorded a newer checkpoint): writes when
   * some record is behind this state. With several records (readAll), the store writes only to those.
   */
  async #recordLastSigned(state: LogState): Promise<void> {
    if (!this.#lastSigned) return;
    const records = await this.#readRecords();
    if (records.every((r) => r !== undefined && (this.#recordSize(r) ?? -1) >= state.size)) return;
    await this.#lastSigned.write(state.checkpoint, records);
    this.#recordSizes.set(state.checkpoint, state.size);
  }

  /** The size of a kept checkpoint, undefined when it does not open (it is then replaced). */
  #recordSize(text: string): number | undefined {
    // The same bytes as last time open the same way: one signature check per change, not per batch.
    const known = this.#recordSizes.get(text);
    if (known !== undefined) return known;
    try {
      const { size } = this.#checkpoints.open(text);
      this.#recordSizes.set(text, size);
      return size;
    } catch {
      return undefined;
    }
  }

  #edgeReader(edge: TreeEdge): NodeReader {
    return nodeReaderFor((k) => edge.tile(k));
  }

  async #tile(
    key: TileKey,
    edge: TreeEdge,
    overlay?: Map<string, Tile>,
    reader: LogReader = this.#storage,
  ): Promise<Tile | undefined> {
    const id = keyOf(key);
    const hit = overlay?.get(id) ?? edge.tile(key) ?? this.#cache.get(id);
    if (hit) return hit;
    const stored = await reader.readTile(key.level, key.index);
    if (!stored) return undefined;
    const tile = Tile.decode(key.level, key.index, stored.width, stored.bytes);
    if (tile.full) this.#cache.set(id, tile);
    return tile;
  }

  /** Runs a proof computation over the tiles it needs, loaded first (storage reads are async). */
  async #prove<T>(
    compute: (node: NodeReader, ranges?: RangeMemo) => T,
    edge: TreeEdge,
    overlay?: Map<string, Tile>,
    reader?: LogReader,
  ): Promise<T> {
    // Folded ranges are kept only over committed leaves: not while a batch is being written (overlay),
    // and not in tilesTouched's dry run, whose hashes are placeholders.
    const ranges = overlay ? undefined : this.#ranges;
    // Warm path: when every tile is already at hand (the edge, the cache), one pass and no reads.
    try {
      // A proof reads up to eight nodes in a row from one tile: look each tile up once.
      let last: Tile | undefined;
      return compute((h, i) => {
        const { key, r, j } = tileOfNode(h, i);
        if (last?.level !== key.level || last.index !== key.index) {
          const id = keyOf(key);
          last = overlay?.get(id) ?? edge.tile(key) ?? this.#cache.get(id);
          // Not an Error: no stack to capture, on a path every cold proof takes.
          if (!last) throw NOT_AT_HAND;
        }
        return last.node(r, j);
      }, ranges);
    } catch (err) {
      if (err !== NOT_AT_HAND) throw err;
    }
    const tiles = new Map<string, Tile>();
    for (const key of tilesTouched(compute)) {
      const tile = await this.#tile(key, edge, overlay, reader);
      if (!tile) throw corrupt(`tile ${key.level}/${key.index} is missing`);
      tiles.set(keyOf(key), tile);
    }
    return compute(
      nodeReaderFor((k) => tiles.get(keyOf(k))),
      ranges,
    );
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.#state.size) {
      throw new AirlockError('E_INPUT_MALFORMED', `tree size ${size} is beyond this log's size ${this.#state.size}`);
    }
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    this.#checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      throw new AirlockError('E_INPUT_MALFORMED', `index ${index} is not in a tree of size ${size}`);
    if (this.#ranges.size > RANGE_MEMO_LIMIT) this.#ranges.clear();
    return this.#prove((node, ranges) => inclusionProof(index, size, node, ranges), this.#edge);
  }

  async consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]> {
    this.#checkSize(newSize);
    if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize)
      throw new AirlockError('E_INPUT_MALFORMED', `no consistency proof from ${oldSize} to ${newSize}`);
    return this.#prove((node) => consistencyProof(oldSize, newSize, node), this.#edge);
  }

  /** The root at any size up to the current one. */
  async rootAt(size: number): Promise<Uint8Array> {
    this.#checkSize(size);
    return this.#prove((node) => rootAt(size, node), this.#edge);
  }

  /** C2SP tile bytes: `width` hashes of tile (level, index), if that much of it exists. */
  async readTile(level: number, index: number, width: number): Promise<Buffer | undefined> {
    const tile = await this.#tile({ level, index }, this.#edge);
    return tile && tile.width >= width ? Buffer.from(tile.hashes(width)) : undefined;
  }

  /** Entries [index·256, index·256 + width), if the log holds them all. */
  async readEntries(bundleIndex: number, width: number): Promise<Uint8Array[] | undefined> {
    const start = bundleIndex * TILE_WIDTH;
    if (start + width > this.#state.size) return undefined;
    const entries = await this.#storage.readEntries(start, start + width);
    return entries.length === width ? entries : undefined;
  }

  async readEntry(index: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#state.size) return undefined;
    return (await this.#storage.readEntries(index, index + 1))[0];
  }

  /** Where an entry already is, if logged. */
  async find(data: Uint8Array): Promise<number | undefined> {
    const identity = entryIdentity(data);
    return (await this.#storage.findIdentities([identity])).get(identity.toString('hex'));
  }

  /** Waits for queued appends, then closes storage. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#draining;
    await this.#publishing;
    await this.#storage.close();
  }
}

/**
 * State and edge from one transaction: another process appending to the same storage (two commands
 * writing one audit log) must not be seen half-way, with tiles or entries ahead of the state.
 * `create` makes the first state of empty storage; without it, empty storage is an internal error.
 */
async function snapshot(
  storage: LogStorage,
  create?: (tx: LogWriteTx) => Promise<LogState>,
): Promise<{ state: LogState; edge: TreeEdge }> {
  const take = async (tx: LogReader, state: LogState | undefined) => {
    if (!state) throw corrupt('the log state disappeared');
    if (state.size > 0 && (await tx.readEntries(state.size - 1, state.size + 1)).length !== 1) {
      throw corrupt(`the entries table does not end at index ${state.size - 1}`);
    }
    return { state, edge: await loadEdge(tx, state.size) };
  };
  // Without the write lock where storage can (a standby must not write, nor stall the sequencer); the
  // write path only to create the first state.
  if (storage.read) {
    const read = await storage.read(async (tx) => {
      const state = await tx.readState();
      return state || !create ? take(tx, state) : undefined;
    });
    if (read) return read;
  }
  return storage.write(async (tx) => take(tx, (await tx.readState()) ?? (await create?.(tx))));
}

async function loadEdge(reader: LogReader, size: number): Promise<TreeEdge> {
  return TreeEdge.open(size, async (key, width) => {
    const stored = await reader.readTile(key.level, key.index);
    if (!stored || stored.width < width)
      throw corrupt(
        `tile ${key.level}/${key.index} is missing or shorter than size ${size} needs ` +
          `(${stored?.width ?? 0} < ${width})`,
      );
    // A stored tile wider than the size needs means storage ran ahead of the recorded state.
    if (stored.width !== width)
      throw corrupt(`tile ${key.level}/${key.index} has width ${stored.width}, size ${size} needs ${width}`);
    const tile = Tile.decode(key.level, key.index, stored.width, stored.bytes);
    // Interior nodes are stored precomputed: a changed hash would not change the root derived from
    // them. The edge is small, so it is re-derived from its hashes (a full sweep is fsck's job).
    if (!Tile.fromHashes(key.level, key.index, tile.hashes()).encode().equals(tile.encode())) {
      throw corrupt(`tile ${key.level}/${key.index} does not re-derive from its own hashes`);
    }
    return tile;
  });
}
