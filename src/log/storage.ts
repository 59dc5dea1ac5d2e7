// What the log engine needs from storage: a small driver interface, because a second implementation
// really exists in our plans (node:sqlite here, PostgreSQL for scale). The write transaction is the
// coordination point: whatever `readState` returns inside `write` is current, so several processes
// may append to one log (the audit log is shared by every airlock command on a machine).

export interface StoredTile {
  readonly level: number;
  readonly index: number;
  /** Hashes at level 0 (1..256). */
  readonly width: number;
  /** The expanded tile (tiles.ts): every node it completes. */
  readonly bytes: Uint8Array;
}

export interface LogState {
  readonly size: number;
  readonly root: Uint8Array;
  /** The signed checkpoint note for exactly this size and root. */
  readonly checkpoint: string;
}

export interface NewEntry {
  readonly data: Uint8Array;
  /** SHA-256 of the entry: a log stores each entry once. */
  readonly identity: Uint8Array;
}

/** Reads, on committed data only. */
export interface LogReader {
  readState(): Promise<LogState | undefined>;
  readTile(level: number, index: number): Promise<StoredTile | undefined>;
  /** Entries [start, end) in order; fewer when the log is shorter (or has a hole: it stops there). */
  readEntries(start: number, end: number): Promise<Uint8Array[]>;
  /** The entries stored in [start, end), each with its index: holes show as absent indices. */
  listEntries(start: number, end: number): Promise<Array<{ readonly index: number; readonly data: Uint8Array }>>;
  /** The index of each identity already logged (keyed by hex). */
  findIdentities(identities: readonly Uint8Array[]): Promise<Map<string, number>>;
}

/** Inside a write transaction: reads see the current state (and this transaction's writes). */
export interface LogWriteTx extends LogReader {
  /**
   * Stores the entries at `start`, `start`+1, … in order, skipping each whose identity is already
   * stored (before, or earlier in this call): for every entry, the index it is at and whether it was
   * there before.
   */
  appendEntries(start: number, entries: readonly NewEntry[]): Promise<Array<{ index: number; duplicate: boolean }>>;
  putTiles(tiles: readonly StoredTile[]): Promise<void>;
  putState(state: LogState): Promise<void>;
}

export interface LogStorage extends LogReader {
  /**
   * Runs `work` in one exclusive, durable transaction: other writers wait; everything written through
   * `tx` lands together or not at all, and nothing of it is visible to plain reads before it lands.
   */
  write<T>(work: (tx: LogWriteTx) => Promise<T>): Promise<T>;
  /**
   * Runs `work` on one consistent snapshot of committed data, without the write lock: a standby reads
   * what the sequencer committed this way. Drivers without it are read through `write`.
   */
  read?<T>(work: (reader: LogReader) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
