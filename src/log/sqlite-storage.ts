// The node:sqlite storage driver: embedded, zero setup. WAL with synchronous=FULL makes every commit
// durable before it returns; two connections keep reads on committed data while a batch is being
// written (a read on the writing connection would see rows that might still roll back).
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { AirlockError } from '../errors.ts';
import type { LogReader, LogState, LogStorage, LogWriteTx, NewEntry, StoredTile } from './storage.ts';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL, identity BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS tiles (level INTEGER NOT NULL, idx INTEGER NOT NULL, width INTEGER NOT NULL,
  data BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, root BLOB NOT NULL,
  checkpoint TEXT NOT NULL);
`;

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
/** How long opening keeps retrying a busy database: far beyond any other opener's few milliseconds. */
const OPEN_RETRY_MS = 15_000;
const pause = new Int32Array(new SharedArrayBuffer(4));

function isBusy(err: unknown): boolean {
  const errcode = (err as { errcode?: unknown }).errcode;
  return typeof errcode === 'number' && ((errcode & 0xff) === SQLITE_BUSY || (errcode & 0xff) === SQLITE_LOCKED);
}

/** Time, waiting and jitter for retries while busy; the caller's, so a test runs them with no real waits. */
export interface BusyClock {
  now(): number;
  /** Blocks the thread: opening is synchronous. */
  wait(ms: number): void;
  /** Uniform in [0, 1). */
  random(): number;
}

export const SYSTEM_BUSY_CLOCK: BusyClock = {
  now: () => Date.now(),
  wait: (ms) => void Atomics.wait(pause, 0, 0, ms),
  random: () => Math.random(),
};

/**
 * Runs `step` until it does not meet a busy database, backing off (5 ms doubling to 250 ms, with
 * jitter) for at most OPEN_RETRY_MS. Some steps of opening get SQLITE_BUSY at once whatever
 * busy_timeout says: switching a fresh database to WAL while another process does the same, and the
 * schema transaction meanwhile. Opening is synchronous, so the wait is too (Atomics.wait).
 */
export function retryWhileBusy<T>(step: () => T, clock: BusyClock = SYSTEM_BUSY_CLOCK): T {
  const deadline = clock.now() + OPEN_RETRY_MS;
  for (let delay = 5; ; delay = Math.min(delay * 2, 250)) {
    try {
      return step();
    } catch (err) {
      if (!isBusy(err) || clock.now() >= deadline) throw err;
    }
    clock.wait(delay / 2 + clock.random() * delay);
  }
}

function connect(path: string): DatabaseSync {
  try {
    const db = new DatabaseSync(path);
    // Other processes appending to the same log wait for the lock instead of failing at once; first,
    // so that every later statement has it.
    db.exec('PRAGMA busy_timeout = 30000');
    retryWhileBusy(() => db.exec('PRAGMA journal_mode = WAL'));
    db.exec('PRAGMA synchronous = FULL');
    return db;
  } catch (err) {
    throw new AirlockError('E_IO', `cannot open the log database ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the tables of a new database (or checks an existing one's version), retried while busy. */
function prepareSchema(writer: DatabaseSync, path: string): void {
  try {
    const version = retryWhileBusy(
      () => (writer.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
    );
    if (version > SCHEMA_VERSION) {
      throw new AirlockError(
        'E_UNSUPPORTED',
        `the log database ${path} has schema version ${version}; this airlock reads up to ${SCHEMA_VERSION}`,
      );
    }
    retryWhileBusy(() => {
      try {
        writer.exec(`BEGIN IMMEDIATE; ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
      } catch (err) {
        if (writer.isTransaction) writer.exec('ROLLBACK');
        throw err;
      }
    });
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw new AirlockError('E_IO', `cannot open the log database ${path}: ${(err as Error).message}`, { cause: err });
  }
}

class Statements {
  readonly state: StatementSync;
  readonly tile: StatementSync;
  readonly entries: StatementSync;
  readonly identity: StatementSync;

  constructor(db: DatabaseSync) {
    this.state = db.prepare('SELECT size, root, checkpoint FROM state WHERE id = 1');
    this.tile = db.prepare('SELECT width, data FROM tiles WHERE level = ? AND idx = ?');
    this.entries = db.prepare('SELECT idx, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx');
    this.identity = db.prepare('SELECT idx FROM entries WHERE identity = ?');
  }

  readState(): LogState | undefined {
    const row = this.state.get() as { size: number; root: Uint8Array; checkpoint: string } | undefined;
    return row ? { size: row.size, root: Buffer.from(row.root), checkpoint: row.checkpoint } : undefined;
  }

  readTile(level: number, index: number): StoredTile | undefined {
    const row = this.tile.get(level, index) as { width: number; data: Uint8Array } | undefined;
    return row ? { level, index, width: row.width, bytes: row.data } : undefined;
  }

  listEntries(start: number, end: number): Array<{ index: number; data: Uint8Array }> {
    return (this.entries.all(start, end) as Array<{ idx: number; data: Uint8Array }>).map((r) => ({
      index: r.idx,
      data: r.data,
    }));
  }

  readEntries(start: number, end: number): Uint8Array[] {
    const rows = this.entries.all(start, end) as Array<{ idx: number; data: Uint8Array }>;
    // A hole means a deleted row: return only the contiguous run, the engine treats it as corruption.
    const out: Uint8Array[] = [];
    for (const [i, row] of rows.entries()) {
      if (row.idx !== start + i) break;
      out.push(row.data);
    }
    return out;
  }

  findIdentities(identities: readonly Uint8Array[]): Map<string, number> {
    const found = new Map<string, number>();
    for (const id of identities) {
      const row = this.identity.get(id) as { idx: number } | undefined;
      if (row) found.set(Buffer.from(id).toString('hex'), row.idx);
    }
    return found;
  }

  /** These reads behind the storage contract's (asynchronous) signatures. */
  asReader(): LogReader {
    return {
      readState: async () => this.readState(),
      readTile: async (level, index) => this.readTile(level, index),
      readEntries: async (start, end) => this.readEntries(start, end),
      listEntries: async (start, end) => this.listEntries(start, end),
      findIdentities: async (ids) => this.findIdentities(ids),
    };
  }
}

export class SqliteLogStorage implements LogStorage {
  readonly path: string;
  readonly #writer: DatabaseSync;
  readonly #reader: DatabaseSync;
  readonly #w: Statements;
  readonly #r: Statements;
  readonly #putEntry: StatementSync;
  readonly #putTile: StatementSync;
  readonly #putState: StatementSync;
  #writing = false;

  private constructor(path: string) {
    this.path = path;
    this.#writer = connect(path);
    try {
      prepareSchema(this.#writer, path);
      this.#reader = connect(path);
    } catch (err) {
      this.#writer.close();
      throw err;
    }
    this.#w = new Statements(this.#writer);
    this.#r = new Statements(this.#reader);
    this.#putEntry = this.#writer.prepare(
      'INSERT INTO entries (idx, data, identity) VALUES (?, ?, ?) ON CONFLICT (identity) DO NOTHING',
    );
    this.#putTile = this.#writer.prepare(
      'INSERT INTO tiles (level, idx, width, data) VALUES (?, ?, ?, ?) ON CONFLICT (level, idx) ' +
        'DO UPDATE SET width = excluded.width, data = excluded.data',
    );
    this.#putState = this.#writer.prepare(
      'INSERT INTO state (id, size, root, checkpoint) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO ' +
        'UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint',
    );
  }

  static open(path: string): SqliteLogStorage {
    return new SqliteLogStorage(path);
  }

  async readState(): Promise<LogState | undefined> {
    return this.#r.readState();
  }

  async readTile(level: number, index: number): Promise<StoredTile | undefined> {
    return this.#r.readTile(level, index);
  }

  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    return this.#r.readEntries(start, end);
  }

  async listEntries(start: number, end: number): Promise<Array<{ index: number; data: Uint8Array }>> {
    return this.#r.listEntries(start, end);
  }

  async findIdentities(identities: readonly Uint8Array[]): Promise<Map<string, number>> {
    return this.#r.findIdentities(identities);
  }

  async write<T>(work: (tx: LogWriteTx) => Promise<T>): Promise<T> {
    if (this.#writing) throw new AirlockError('E_INTERNAL', 'log storage: nested or concurrent write transaction');
    this.#writing = true;
    const w = this.#w;
    const tx: LogWriteTx = {
      ...w.asReader(),
      appendEntries: async (start: number, entries: readonly NewEntry[]) => {
        const out: Array<{ index: number; duplicate: boolean }> = [];
        let next = start;
        for (const e of entries) {
          // ON CONFLICT names the identity only: an index already taken is still an error.
          if (this.#putEntry.run(next, e.data, e.identity).changes === 1) {
            out.push({ index: next++, duplicate: false });
            continue;
          }
          const row = w.identity.get(e.identity) as { idx: number } | undefined;
          if (!row) throw new AirlockError('E_INTERNAL', 'log storage: an entry was neither stored nor found');
          out.push({ index: row.idx, duplicate: true });
        }
        return out;
      },
      putTiles: async (tiles: readonly StoredTile[]) => {
        for (const t of tiles) this.#putTile.run(t.level, t.index, t.width, t.bytes);
      },
      putState: async (state: LogState) => {
        this.#putState.run(state.size, state.root, state.checkpoint);
      },
    };
    try {
      this.#writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(tx);
        this.#writer.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.#writer.isTransaction) this.#writer.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_SQLITE_ERROR') throw err;
      throw new AirlockError('E_IO', `log database ${this.path}: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#writing = false;
    }
  }

  async close(): Promise<void> {
    this.#reader.close();
    this.#writer.close();
  }
}

/** A log database opened read-only, as it was when opened (see openSqliteLogSnapshot). */
export interface SqliteLogSnapshot extends LogReader {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Why a read-only opening failed, as the operator can act on it: SQLite creates the -shm companion of a
 * WAL database even to read it, so a folder the user may not write is refused (SQLITE_READONLY_*).
 */
export function snapshotFailure(what: string, path: string, err: unknown): AirlockError {
  const message = err instanceof Error ? err.message : String(err);
  const readOnlyFolder = /readonly|read-only/i.test(message);
  return new AirlockError('E_IO', `cannot ${what} the log database ${path}: ${message}`, {
    cause: err,
    ...(readOnlyFolder
      ? {
          hint:
            'SQLite writes a -shm file beside a WAL database even to read it: run as a user who may write ' +
            'its folder, or copy the folder (log.db, checkpoint, log.pub) somewhere writable and use the copy',
        }
      : {}),
  });
}

/**
 * A read-only view of a log database as it was when opened (one read transaction): for copying a log
 * elsewhere without writing to it. Nothing is written to the database file; SQLite may create its
 * empty -wal and -shm companions, as any reader of a WAL database does.
 */
export function openSqliteLogSnapshot(path: string): SqliteLogSnapshot {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    db.exec('PRAGMA busy_timeout = 30000');
  } catch (err) {
    throw snapshotFailure('open', path, err);
  }
  try {
    const statements = new Statements(db);
    // The first read pins the snapshot: a writer's later commits stay out of it.
    db.exec('BEGIN');
    statements.readState();
    const close = async () => {
      if (db.isTransaction) db.exec('COMMIT');
      db.close();
    };
    return { ...statements.asReader(), path, close };
  } catch (err) {
    db.close();
    throw snapshotFailure('read', path, err);
  }
}
