// The PostgreSQL storage driver: the same contract and tables as the node:sqlite one, for a log that
// must outlive one machine. A write is one READ COMMITTED transaction that first takes an EXCLUSIVE
// lock on the state table: it waits for every other writer (any process, any host) and lets plain
// reads go on, on committed data. Once it holds the lock, each statement sees everything committed
// before it, so `readState` inside `write` is current, as the sqlite driver's BEGIN IMMEDIATE gives.
// SERIALIZABLE would not do: it fails a conflicting writer (40001) instead of making it wait, and the
// work inside a write (hashing, signing) is not ours to retry. An append resolves only after COMMIT
// returns, and the server must run with fsync and synchronous_commit on (checked at open): a
// committed row then survives a crash of the server. A COMMIT whose reply is lost is reported as a
// failure; the entry's retry finds it stored and answers it as a duplicate.
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { readOptionalText } from '../files/read-file.ts';
import { isLoopbackHost } from '../net/loopback.ts';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { type PgpassTarget, readPgpassPassword } from './pgpass.ts';
import type { LastSignedStore } from './engine.ts';
import type { LogReader, LogState, LogStorage, LogWriteTx, NewEntry, StoredTile } from './storage.ts';

// 2 added meta, checkpoints, sequencer and sequencer_history, and the triggers; a version-1 database
// gains them when opened (only tables and triggers are added).
const SCHEMA_VERSION = 2;

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS log_schema (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL)',
  `CREATE TABLE IF NOT EXISTS entries (idx bigint PRIMARY KEY CHECK (idx >= 0), data bytea NOT NULL,
    identity bytea NOT NULL UNIQUE)`,
  `CREATE TABLE IF NOT EXISTS tiles (level int NOT NULL, idx bigint NOT NULL, width int NOT NULL,
    data bytea NOT NULL, PRIMARY KEY (level, idx))`,
  // Rewritten by every batch: room on its page keeps the updates HOT.
  `CREATE TABLE IF NOT EXISTS state (id int PRIMARY KEY CHECK (id = 1), size bigint NOT NULL, root bytea NOT NULL,
    checkpoint text NOT NULL) WITH (fillfactor = 10)`,
  // What a log is, fixed at creation (an audit trail's origin and public key): written once.
  'CREATE TABLE IF NOT EXISTS meta (name text PRIMARY KEY, value text NOT NULL)',
  // Every checkpoint the log recorded as signed, kept in the database for every process sharing it: the
  // last one is what a new sequencer must extend (LastSignedStore).
  `CREATE TABLE IF NOT EXISTS checkpoints (size bigint PRIMARY KEY CHECK (size >= 0), note text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now())`,
  // The sequencer's epoch: raised by each process that takes over sequencing, checked by every write of
  // the one that holds it, so a deposed sequencer's late write changes nothing.
  `CREATE TABLE IF NOT EXISTS sequencer (id int PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL,
    holder text NOT NULL, since timestamptz NOT NULL DEFAULT now()) WITH (fillfactor = 50)`,
  `CREATE TABLE IF NOT EXISTS sequencer_history (epoch bigint PRIMARY KEY, holder text NOT NULL,
    backend_pid int NOT NULL, since timestamptz NOT NULL DEFAULT now())`,
  // Written once, never changed: SQL that edits or deletes them is refused by the database itself.
  `CREATE OR REPLACE FUNCTION airlock_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'airlock: % rows are never changed or deleted', TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege'; END $$`,
  `CREATE OR REPLACE TRIGGER entries_write_once BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION airlock_refuse_change()`,
  `CREATE OR REPLACE TRIGGER checkpoints_write_once BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION airlock_refuse_change()`,
  `CREATE OR REPLACE TRIGGER meta_write_once BEFORE UPDATE OR DELETE ON meta
    FOR EACH ROW EXECUTE FUNCTION airlock_refuse_change()`,
  `CREATE OR REPLACE TRIGGER sequencer_history_write_once BEFORE UPDATE OR DELETE ON sequencer_history
    FOR EACH ROW EXECUTE FUNCTION airlock_refuse_change()`,
];

/** Serialises openers creating the tables of a fresh database (CREATE … IF NOT EXISTS races otherwise). */
const SCHEMA_LOCK = 0x6169726c6f636b31n; // "airlock1"
/** Rows per INSERT: well under PostgreSQL's 65,535 parameters, and Buffers go out binary. */
const ROWS_PER_INSERT = 256;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const URL_PARAMETERS = new Set(['host', 'application_name', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey']);
/**
 * Errors of a server or connection that is not there (now): SQLSTATE classes 08, 53, 57P, 28, and a
 * transaction the server ended for idling (25P03; 25P04, transaction_timeout, on PostgreSQL 17): a
 * stalled or cut-off process, whose client should retry, not a fault of the log. And a database the URL
 * names that is not there (3D000): a deployment to fix, as a wrong role or password is.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P|28|25P0[34]|3D000)/;
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
/** Node's TLS refusals of a server certificate (and OpenSSL's verify codes it passes on). */
const TLS_ERRORS = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH)/;

export interface PostgresStorageOptions {
  /** postgres://USER@HOST:PORT/DB (a socket folder as ?host=/path); never with a password in it. */
  readonly url: string;
  /** The password, when the caller has it; else `passfile`; else none (trust or peer authentication). */
  readonly password?: string | (() => Promise<string>);
  /** A libpq password file (pgpass.ts) to read the password from at each new connection. */
  readonly passfile?: string;
  /** The schema holding the tables, created if absent: one database may hold several logs. */
  readonly schema?: string;
  /** Connections at most (default 4): one writes at a time, the others serve reads. */
  readonly maxConnections?: number;
  /**
   * Reads only (an auditor's `audit verify`): no tables are created, every transaction is read-only,
   * and a role with SELECT alone will do. A database without the tables is E_INPUT_MISSING.
   */
  readonly readOnly?: boolean;
}

const usage = (message: string) =>
  new AirlockError('E_USAGE', message, { hint: 'postgres://USER@HOST:PORT/DB, the password in a PGPASSFILE' });

/** The pool's settings from the URL, which is parsed here: pg lets a URL's empty password override a given one. */
async function poolConfig(options: PostgresStorageOptions): Promise<{ config: pg.PoolConfig; target: string }> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw usage('the log database is not a postgres:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw usage('the log database is not a URL');
  if (url.password !== '') throw usage('the log database URL carries a password: it would show in argv and logs');
  for (const key of url.searchParams.keys()) {
    if (!URL_PARAMETERS.has(key)) throw usage(`the log database URL has an unsupported parameter ${bounded(key, 64)}`);
  }
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw usage(`the log schema name ${bounded(options.schema, 64)} is not a plain lower-case identifier`);
  }
  const host = url.searchParams.get('host') ?? decodeURIComponent(url.hostname);
  const port = url.port === '' ? 5432 : Number(url.port);
  const user = decodeURIComponent(url.username);
  const database = decodeURIComponent(url.pathname.slice(1)) || user;
  const ssl = await tlsSettings(url.searchParams, host);
  const config: pg.PoolConfig = {
    host,
    port,
    user,
    database,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: 15_000,
    application_name: url.searchParams.get('application_name') ?? 'airlock-log',
    options: startupOptions(options),
    // A host that vanished mid-transaction is noticed by TCP, not after the kernel's two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    ...(ssl ? { ssl } : {}),
  };
  return { config, target: bounded(`${user}@${host}:${port}/${database}`, 200) };
}

const TLS_MODES = new Set(['disable', 'verify-ca', 'verify-full']);
const PEM_LIMIT = 1024 * 1024;

/**
 * TLS as libpq's sslmode names it, fail-closed: plain only when asked (`disable`) or on loopback and a
 * socket, where nothing is on the wire; otherwise the server's certificate is checked against
 * `sslrootcert` (else Node's CAs: its bundled ones, the system's only with --use-system-ca), with its
 * name (`verify-full`, the default) or without (`verify-ca`). `require`, `prefer` and `allow` would
 * accept any server that answers: refused.
 */
async function tlsSettings(params: URLSearchParams, host: string): Promise<ConnectionOptions | undefined> {
  // Not *.localhost: the resolver here may take such a name to DNS, which need not answer with loopback.
  const local = host.startsWith('/') || (isLoopbackHost(host) && !host.toLowerCase().endsWith('.localhost'));
  const mode = params.get('sslmode') ?? (local ? 'disable' : 'verify-full');
  if (!TLS_MODES.has(mode)) {
    throw usage(
      `sslmode=${bounded(mode, 20)} is not supported: it does not check who answers ` +
        '(use sslmode=verify-full with sslrootcert=FILE, or sslmode=disable on a trusted network)',
    );
  }
  const files = ['sslrootcert', 'sslcert', 'sslkey'].filter((name) => params.has(name));
  if (mode === 'disable') {
    if (files.length > 0) throw usage(`${files.join(', ')} given with sslmode=disable`);
    return undefined;
  }
  if (params.has('sslcert') !== params.has('sslkey')) throw usage('sslcert and sslkey go together');
  // The public CAs and no name check would take any certificate any of them issued, for any name.
  if (mode === 'verify-ca' && !params.has('sslrootcert'))
    throw usage("sslmode=verify-ca needs sslrootcert=FILE: the CA of the server's certificate");
  const read = async (name: string) => {
    const path = params.get(name);
    return path === null ? undefined : readPem(path, name);
  };
  const [ca, cert, key] = await Promise.all([read('sslrootcert'), read('sslcert'), read('sslkey')]);
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(isIP(host) === 0 && !host.startsWith('/') ? { servername: host } : {}),
    // verify-ca: the chain is checked, the name is not (a server reached by an address its certificate omits).
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}

async function readPem(path: string, what: string): Promise<string> {
  // Errors name the file, never its content: sslkey is a private key.
  const text = await readOptionalText(path, `the database's ${what}`, PEM_LIMIT);
  if (text === undefined)
    throw new AirlockError('E_INPUT_MISSING', `the database's ${what} ${bounded(path, 200)} does not exist`);
  return text;
}

/**
 * Always a password setting: with none, pg would fall back to PGPASSWORD and its own (deprecated)
 * pgpass reading, behind the caller's back: the edge decides where a password comes from. A password
 * file is read before connecting: a failure inside pg's password callback leaves the half-open
 * connection until the server's authentication_timeout.
 */
async function passwordOf(options: PostgresStorageOptions, target: PgpassTarget): Promise<pg.PoolConfig['password']> {
  if (options.password !== undefined) return options.password;
  if (options.passfile !== undefined) return readPgpassPassword(options.passfile, target);
  // Called only when the server asks for a password.
  return async () => {
    throw new AirlockError('E_USAGE', 'the log database asks for a password, and none was given', {
      hint: 'put it in a password file (PGPASSFILE or ~/.pgpass, mode 600)',
    });
  };
}

function isDatabaseError(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (SOCKET_ERRORS.has(code) || TLS_ERRORS.test(code))) return true;
  return (
    err instanceof Error &&
    /^Connection terminated|is not queryable|^timeout expired|connection timeout|does not support SSL/i.test(
      err.message,
    )
  );
}

/** A driver or server error as ours: the server's words bounded, and nothing of the connection's secrets. */
function storageError(err: unknown, target: string, action: string): unknown {
  if (!isDatabaseError(err)) return err;
  const code = (err as { code?: unknown }).code;
  const reason = bounded(`${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`);
  if (!(err instanceof pg.DatabaseError) || UNAVAILABLE_SQLSTATE.test(err.code ?? '')) {
    return new AirlockError('E_UNAVAILABLE', `the log database ${target} is unavailable: ${reason}`, {
      hint:
        'check the server is up and reachable, the database exists, the role and password (PGPASSFILE) are ' +
        'right, and, over TLS, that its certificate is issued by sslrootcert for the name in the URL',
    });
  }
  // A hot standby (or a role set read-only) answers the first write so: name the likely cause.
  const readOnly = err.code === '25006' ? { hint: READ_ONLY_SERVER } : {};
  return new AirlockError('E_IO', `log database ${target}: cannot ${action}: ${reason}`, readOnly);
}

const READ_ONLY_SERVER =
  'the server takes no writes: point the URL at the primary, not a hot standby, ' +
  'and check default_transaction_read_only is off for the role and database';

const ignore = () => undefined;

const notSequencer = (why = 'this process is a standby') =>
  new AirlockError('E_NOT_SEQUENCER', `the log is sequenced by another process: ${why}`, {
    hint: 'send writes to the sequencer, or retry here once this process has taken over',
  });

const corrupt = (message: string) => new AirlockError('E_LOG_CORRUPT', `log database: ${message}`);

/** A BIGINT column (pg hands it over as a string), as an index the engine can use. */
function indexOf(value: unknown, what: string): number {
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw corrupt(`${what} ${bounded(String(value), 40)} is not an index`);
  return n;
}

const bytes = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const hex = (b: Uint8Array) => bytes(b).toString('hex');

/** `count` rows of `width` parameters each: ($1, $2), ($3, $4), … */
function placeholders(count: number, width: number): string {
  return Array.from(
    { length: count },
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`,
  ).join(', ');
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROWS_PER_INSERT) out.push(items.slice(i, i + ROWS_PER_INSERT));
  return out;
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** The reads, on the pool (committed data) or on the writing client (its own transaction). */
class Reads implements LogReader {
  protected readonly db: Queryable;

  constructor(db: Queryable) {
    this.db = db;
  }

  async readState(): Promise<LogState | undefined> {
    return stateOf((await this.db.query('SELECT size, root, checkpoint FROM state WHERE id = 1')).rows[0]);
  }

  async readTile(level: number, index: number): Promise<StoredTile | undefined> {
    const { rows } = await this.db.query('SELECT width, data FROM tiles WHERE level = $1 AND idx = $2', [level, index]);
    const row = rows[0] as { width: number; data: Buffer } | undefined;
    return row ? { level, index, width: row.width, bytes: row.data } : undefined;
  }

  async listEntries(start: number, end: number): Promise<Array<{ index: number; data: Uint8Array }>> {
    const { rows } = await this.db.query('SELECT idx, data FROM entries WHERE idx >= $1 AND idx < $2 ORDER BY idx', [
      start,
      end,
    ]);
    return (rows as Array<{ idx: string; data: Buffer }>).map((r) => ({
      index: indexOf(r.idx, 'entry'),
      data: r.data,
    }));
  }

  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    // A hole means a deleted row: return only the contiguous run, the engine treats it as corruption.
    const out: Uint8Array[] = [];
    for (const [i, row] of (await this.listEntries(start, end)).entries()) {
      if (row.index !== start + i) break;
      out.push(row.data);
    }
    return out;
  }

  async findIdentities(identities: readonly Uint8Array[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (identities.length === 0) return found;
    const { rows } = await this.db.query('SELECT identity, idx FROM entries WHERE identity = ANY($1::bytea[])', [
      identities.map(bytes),
    ]);
    for (const r of rows as Array<{ identity: Buffer; idx: string }>)
      found.set(hex(r.identity), indexOf(r.idx, 'entry'));
    return found;
  }
}

/** A write transaction on PostgreSQL: the contract's, plus the tables only this driver has. */
export interface PostgresWriteTx extends LogWriteTx {
  claimMeta(name: string, value: string): Promise<string>;
  recordSigned(size: number, note: string): Promise<void>;
}

/** Writes, on the client holding the write lock, inside its transaction. */
class Writes extends Reads implements PostgresWriteTx {
  /** The state as read with the lock, then as this transaction put it: nobody else writes meanwhile. */
  #state: LogState | undefined;
  /** Tiles go to the database with the state (one statement), or before a read that must see them. */
  #tiles: StoredTile[] = [];

  constructor(db: pg.PoolClient, opened: LogState | undefined) {
    super(db);
    this.#state = opened;
  }

  override async readState(): Promise<LogState | undefined> {
    return this.#state;
  }

  override async readTile(level: number, index: number): Promise<StoredTile | undefined> {
    await this.flush();
    return super.readTile(level, index);
  }

  async appendEntries(
    start: number,
    entries: readonly NewEntry[],
  ): Promise<Array<{ index: number; duplicate: boolean }>> {
    // No other writer runs meanwhile (the lock), so what is not found now is not stored by anyone else.
    const seen = await this.findIdentities(entries.map((e) => e.identity));
    const out: Array<{ index: number; duplicate: boolean }> = [];
    const rows: Array<[number, Buffer, Buffer]> = [];
    let next = start;
    for (const e of entries) {
      const at = seen.get(hex(e.identity));
      if (at !== undefined) {
        out.push({ index: at, duplicate: true });
        continue;
      }
      seen.set(hex(e.identity), next);
      rows.push([next, bytes(e.data), bytes(e.identity)]);
      out.push({ index: next++, duplicate: false });
    }
    // No ON CONFLICT: an index already taken is an error, as in the sqlite driver.
    for (const chunk of chunks(rows)) {
      await this.db.query(
        `INSERT INTO entries (idx, data, identity) VALUES ${placeholders(chunk.length, 3)}`,
        chunk.flat(),
      );
    }
    return out;
  }

  async putTiles(tiles: readonly StoredTile[]): Promise<void> {
    this.#tiles.push(...tiles);
    // Held back for the state's statement only as many as one statement takes: a bulk copy (log
    // migrate) streams them instead of holding every tile of a large log in memory.
    if (this.#tiles.length >= ROWS_PER_INSERT) await this.flush();
  }

  /** Writes the tiles still held back: before a read that must see them, and before COMMIT. */
  async flush(): Promise<void> {
    for (const chunk of this.#pendingTiles()) await this.db.query(insertTiles(chunk.length), tileParameters(chunk));
  }

  /** One statement may not update a row twice: the last write of a tile wins, as it would one by one. */
  #pendingTiles(): StoredTile[][] {
    const latest = [...new Map(this.#tiles.map((t) => [`${t.level}/${t.index}`, t])).values()];
    this.#tiles = [];
    return chunks(latest);
  }

  /** meta and checkpoints inside the write: a log copied in (log migrate) lands with them, or not at all. */
  claimMeta(name: string, value: string): Promise<string> {
    return claimMetaOn(this.db, name, value);
  }

  recordSigned(size: number, note: string): Promise<void> {
    return recordSignedOn(this.db, size, note);
  }

  /**
   * The state, the checkpoint it signs into the checkpoints record, and the last tiles held back, in one
   * statement: a batch's writes cost one round trip here.
   */
  async putState(state: LogState): Promise<void> {
    const pending = this.#pendingTiles();
    const last = pending.pop() ?? [];
    for (const chunk of pending) await this.db.query(insertTiles(chunk.length), tileParameters(chunk));
    const n = last.length * 4;
    const tiles = last.length > 0 ? `, t AS (${insertTiles(last.length)} RETURNING 1)` : '';
    await this.db.query(
      `WITH s AS (INSERT INTO state (id, size, root, checkpoint) VALUES (1, $${n + 1}, $${n + 2}, $${n + 3}) ` +
        'ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint ' +
        `RETURNING 1)${tiles} INSERT INTO checkpoints (size, note) VALUES ($${n + 1}, $${n + 3}) ` +
        'ON CONFLICT (size) DO NOTHING',
      [...tileParameters(last), state.size, bytes(state.root), state.checkpoint],
    );
    this.#state = state;
  }
}

/** Sets a meta value unless it is set: the value stored (the first writer's). */
async function claimMetaOn(db: Queryable, name: string, value: string): Promise<string> {
  await db.query('INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
  const { rows } = await db.query('SELECT value FROM meta WHERE name = $1', [name]);
  const stored = (rows[0] as { value: string } | undefined)?.value;
  if (stored === undefined) throw corrupt(`meta ${bounded(name, 40)} vanished after it was written`);
  return stored;
}

/** Records a signed checkpoint; one already recorded at its size stays (the table is write-once). */
async function recordSignedOn(db: Queryable, size: number, note: string): Promise<void> {
  await db.query('INSERT INTO checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING', [size, note]);
}

function insertTiles(rows: number): string {
  return (
    `INSERT INTO tiles (level, idx, width, data) VALUES ${placeholders(rows, 4)} ` +
    'ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, data = excluded.data'
  );
}

function tileParameters(tiles: readonly StoredTile[]): unknown[] {
  return tiles.flatMap((t) => [t.level, t.index, t.width, bytes(t.bytes)]);
}

function startupOptions(options: PostgresStorageOptions): string {
  return [
    ...(options.schema !== undefined ? [`-c search_path=${options.schema}`] : []),
    ...(options.readOnly ? ['-c default_transaction_read_only=on'] : []),
    // A process frozen (or cut off) inside a write holds the state lock, and with it every other writer
    // and a standby's takeover: the server ends such a transaction, and its session, after 10 s.
    '-c idle_in_transaction_session_timeout=10s',
  ].join(' ');
}

/** A reader's check: the tables are there, in a version it reads. */
async function checkSchema(client: pg.PoolClient, target: string, schema: string, user: string): Promise<void> {
  const { rows } = await client.query("SELECT to_regclass('log_schema') IS NOT NULL AS present");
  if (!(rows[0] as { present: boolean }).present) {
    // The search path skips a schema the role may not use, so its tables look absent: say which it is.
    if (await schemaUnusable(client, schema)) throw mayNotRead(client, target, schema, user);
    throw new AirlockError('E_INPUT_MISSING', `the database ${target} holds no log in this schema`);
  }
  const version = (
    (await client.query('SELECT version FROM log_schema WHERE id = 1')).rows[0] as { version: number } | undefined
  )?.version;
  if (version === undefined || version > SCHEMA_VERSION) {
    throw new AirlockError(
      'E_UNSUPPORTED',
      `the log database ${target} has schema version ${version ?? 'none'}; this airlock reads up to ${SCHEMA_VERSION}`,
    );
  }
}

async function schemaUnusable(client: pg.PoolClient, schema: string): Promise<boolean> {
  const { rows } = await client.query(
    "SELECT NOT has_schema_privilege(oid, 'USAGE') AS denied FROM pg_namespace WHERE nspname = $1",
    [schema],
  );
  return (rows[0] as { denied: boolean } | undefined)?.denied === true;
}

function mayNotRead(client: pg.PoolClient, target: string, schema: string, user: string): AirlockError {
  // As SQL to paste: a role name that is no plain identifier is quoted (the schema name always is one).
  const role = /^[a-z_][a-z0-9_]*$/.test(user) ? user : client.escapeIdentifier(user);
  const grantUsage = `GRANT USAGE ON SCHEMA ${schema} TO ${role};`;
  const grantSelect = `GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role};`;
  return new AirlockError('E_IO', `the role ${bounded(user, 64)} may not read the schema ${schema} of ${target}`, {
    hint: bounded(`as the tables' owner: ${grantUsage} ${grantSelect}`, 400),
  });
}

/** What a write transaction starts from: the sequencer's epoch and the log's state, read under the lock. */
interface Opened {
  readonly epoch: string | undefined;
  readonly state: LogState | undefined;
}

/** No parameters, so the simple protocol takes the four statements in one message. */
const OPEN_WRITE =
  'BEGIN ISOLATION LEVEL READ COMMITTED; LOCK TABLE state IN EXCLUSIVE MODE; ' +
  'SELECT epoch FROM sequencer WHERE id = 1; SELECT size, root, checkpoint FROM state WHERE id = 1';

async function open(client: pg.PoolClient): Promise<Opened> {
  const results = (await client.query(OPEN_WRITE)) as unknown as pg.QueryResult[];
  const epoch = (results[2]?.rows[0] as { epoch: string } | undefined)?.epoch;
  return { epoch: epoch === undefined ? undefined : String(epoch), state: stateOf(results[3]?.rows[0]) };
}

function stateOf(row: unknown): LogState | undefined {
  const r = row as { size: string; root: Buffer; checkpoint: string } | undefined;
  return r ? { size: indexOf(r.size, 'the state size'), root: r.root, checkpoint: r.checkpoint } : undefined;
}

/** Refuses a server that may lose a commit it acknowledged: the log would then forget what it signed. */
async function checkDurable(client: pg.PoolClient, target: string): Promise<void> {
  const { rows } = await client.query(
    "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync",
  );
  const { fsync, sync } = rows[0] as { fsync: string; sync: string };
  if (fsync !== 'on' || sync === 'off') {
    throw new AirlockError(
      'E_UNSUPPORTED',
      `the log database ${target} runs with fsync=${bounded(fsync, 20)}, synchronous_commit=${bounded(sync, 20)}`,
      { hint: 'a log acknowledges only durable appends: set fsync = on and synchronous_commit = on' },
    );
  }
}

/** Creates the tables of a new database (or checks an existing one's version), one opener at a time. */
async function prepareSchema(client: pg.PoolClient, target: string, schema: string | undefined): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK.toString()]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(SCHEMA[0] as string);
    const { rows } = await client.query('SELECT version FROM log_schema WHERE id = 1');
    const version = (rows[0] as { version: number } | undefined)?.version ?? SCHEMA_VERSION;
    if (version > SCHEMA_VERSION) {
      throw new AirlockError(
        'E_UNSUPPORTED',
        `the log database ${target} has schema version ${version}; this airlock reads up to ${SCHEMA_VERSION}`,
      );
    }
    for (const statement of SCHEMA.slice(1)) await client.query(statement);
    await client.query(
      'INSERT INTO log_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version',
      [SCHEMA_VERSION],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Who may write: anyone (one process, or writers that share the log as the audit trail's do), nobody
 * (a standby), or the sequencer of one epoch, checked inside each write transaction.
 */
type Fence = { readonly epoch: string } | 'standby' | undefined;

/** Settings of a sequencer's own session (the one holding the advisory lock): a stalled process loses it. */
const SESSION_OPTIONS = [
  'idle_session_timeout=10s',
  'idle_in_transaction_session_timeout=10s',
  'statement_timeout=5s',
  'lock_timeout=3s',
];

export class PostgresLogStorage implements LogStorage {
  /** user@host:port/db, for messages: never the password. */
  readonly target: string;
  /** The schema holding the tables: one database may hold several logs, each with its own sequencer. */
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #reads: Reads;
  readonly #config: pg.ClientConfig;
  #writing = false;
  #fence: Fence;
  #readOnly = false;

  private constructor(pool: pg.Pool, target: string, schema: string, config: pg.ClientConfig) {
    this.#pool = pool;
    this.target = target;
    this.schema = schema;
    this.#config = config;
    this.#reads = new Reads(pool);
  }

  static async open(options: PostgresStorageOptions): Promise<PostgresLogStorage> {
    const { config, target } = await poolConfig(options);
    const { host, port, database, user } = config as PgpassTarget;
    const password = await passwordOf(options, { host, port, database, user });
    const pool = new pg.Pool({ ...config, password });
    let schema: string;
    // An idle connection the server drops (restart, crash) is emitted here, and unhandled it would end
    // the process; the next query takes a fresh connection and reports what it meets.
    pool.on('error', ignore);
    try {
      const client = await pool.connect();
      try {
        await checkDurable(client, target);
        if (options.readOnly) await checkSchema(client, target, options.schema ?? 'public', user);
        else await prepareSchema(client, target, options.schema);
        schema = ((await client.query('SELECT current_schema() AS schema')).rows[0] as { schema: string }).schema;
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw storageError(err, target, options.readOnly ? 'read its tables' : 'prepare its tables');
    }
    const { max: _max, connectionTimeoutMillis: _timeout, ...session } = config;
    const storage = new PostgresLogStorage(pool, target, schema, { ...session, password });
    storage.#readOnly = options.readOnly === true;
    return storage;
  }

  /**
   * A connection of its own, outside the pool, for a sequencer's advisory lock: bounded so that a
   * stalled or vanished holder loses its session, and with it the lock, within seconds.
   */
  async openSession(applicationName: string): Promise<pg.Client> {
    const base = this.#config.options === undefined ? '' : `${this.#config.options} `;
    const client = new pg.Client({
      ...this.#config,
      application_name: applicationName,
      options: `${base}${SESSION_OPTIONS.map((o) => `-c ${o}`).join(' ')}`,
      keepAlive: true,
      keepAliveInitialDelayMillis: 2_000,
      connectionTimeoutMillis: 5_000,
      // Client-side: a heartbeat that hangs (a cut-off network) fails, and the holder stands down.
      query_timeout: 4_000,
    });
    // Unhandled, a lost connection's error event would end the process; the holder learns of it from
    // its next query, and listens for it too.
    client.on('error', ignore);
    try {
      await client.connect();
    } catch (err) {
      throw storageError(err, this.target, 'open a session');
    }
    return client;
  }

  /** Refuses every write (E_NOT_SEQUENCER) until claimSequencer: a standby's, or a deposed sequencer's. */
  standBy(): void {
    this.#fence = 'standby';
  }

  /**
   * Claims the sequencer: raises the epoch (after any write in flight, which holds the state lock) and
   * records who holds it. Once sequenceAs(epoch), each write checks the epoch is still this one, so a
   * sequencer that lost its lock (stalled, cut off) cannot commit once another has taken over.
   */
  async claimSequencer(holder: string, backendPid: number): Promise<string> {
    // Not under the engine's one-write-at-a-time guard: a write of this process's deposed past may
    // still hang on a dead connection, and the state lock orders the two in the database anyway.
    const epoch = await this.#transaction('claim the sequencer', { guarded: false }, async (client) => {
      const { rows } = await client.query(
        'INSERT INTO sequencer (id, epoch, holder) VALUES (1, 1, $1) ON CONFLICT (id) DO UPDATE ' +
          'SET epoch = sequencer.epoch + 1, holder = excluded.holder, since = now() RETURNING epoch',
        [holder],
      );
      const claimed = String((rows[0] as { epoch: string }).epoch);
      await client.query('INSERT INTO sequencer_history (epoch, holder, backend_pid) VALUES ($1, $2, $3)', [
        claimed,
        holder,
        backendPid,
      ]);
      return claimed;
    });
    return epoch;
  }

  /**
   * Takes writes as the sequencer of `epoch` (claimed with claimSequencer), once the checks before
   * sequencing passed: until then, writes stay refused, so nothing commits over a log the checks refuse.
   */
  sequenceAs(epoch: string): void {
    this.#fence = { epoch };
  }

  /** The sequencer of record: its epoch and who claimed it, if any has. */
  sequencer(): Promise<{ epoch: string; holder: string } | undefined> {
    return this.#read('read the sequencer', async () => {
      const { rows } = await this.#pool.query('SELECT epoch, holder FROM sequencer WHERE id = 1');
      const row = rows[0] as { epoch: string; holder: string } | undefined;
      return row && { epoch: String(row.epoch), holder: row.holder };
    });
  }

  /** Runs `work` on one snapshot of committed data (REPEATABLE READ, READ ONLY): state and tiles agree. */
  read<T>(work: (reader: LogReader) => Promise<T>): Promise<T> {
    return this.#read('read a snapshot', async () => {
      const client = await this.#pool.connect();
      // As in a write: a connection lost between the snapshot's queries must not end the process.
      client.on('error', ignore);
      let failed = false;
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const result = await work(new Reads(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        failed = true;
        await client.query('ROLLBACK').catch(ignore);
        throw err;
      } finally {
        client.off('error', ignore);
        client.release(failed);
      }
    });
  }

  async #read<T>(action: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      throw storageError(err, this.target, action);
    }
  }

  readState(): Promise<LogState | undefined> {
    return this.#read('read the state', () => this.#reads.readState());
  }

  readTile(level: number, index: number): Promise<StoredTile | undefined> {
    return this.#read('read a tile', () => this.#reads.readTile(level, index));
  }

  readEntries(start: number, end: number): Promise<Uint8Array[]> {
    return this.#read('read entries', () => this.#reads.readEntries(start, end));
  }

  listEntries(start: number, end: number): Promise<Array<{ index: number; data: Uint8Array }>> {
    return this.#read('read entries', () => this.#reads.listEntries(start, end));
  }

  findIdentities(identities: readonly Uint8Array[]): Promise<Map<string, number>> {
    return this.#read('look entries up', () => this.#reads.findIdentities(identities));
  }

  write<T>(work: (tx: PostgresWriteTx) => Promise<T>): Promise<T> {
    if (this.#readOnly)
      return Promise.reject(new AirlockError('E_INTERNAL', `log database ${this.target}: opened read-only`));
    if (this.#fence === 'standby') return Promise.reject(notSequencer());
    const fence = this.#fence;
    return this.#transaction('write', { guarded: true }, async (client, opened) => {
      if (fence !== undefined) this.#checkFence(opened.epoch, fence.epoch);
      const tx = new Writes(client, opened.state);
      const result = await work(tx);
      await tx.flush();
      return result;
    });
  }

  /** Inside a write, after the state lock: still the epoch this process claimed, or it stands down. */
  #checkFence(now: string | undefined, epoch: string): void {
    if (now !== undefined && now === epoch) return;
    this.#fence = 'standby';
    throw notSequencer(
      `another process took over sequencing (epoch ${bounded(String(now), 24)}, this one had ${epoch})`,
    );
  }

  /**
   * One exclusive, durable transaction on a pooled connection: BEGIN, the state table's lock and the
   * reads every write starts with go in one round trip; the connection is dropped after any failure (a
   * lost COMMIT reply, a dead socket).
   */
  async #transaction<T>(
    action: string,
    { guarded }: { guarded: boolean },
    work: (client: pg.PoolClient, opened: Opened) => Promise<T>,
  ): Promise<T> {
    if (guarded && this.#writing)
      throw new AirlockError('E_INTERNAL', 'log storage: nested or concurrent write transaction');
    if (guarded) this.#writing = true;
    let client: pg.PoolClient | undefined;
    let failed = false;
    try {
      client = await this.#pool.connect();
      // A connection lost while `work` runs between queries is emitted here (unhandled, it would end the
      // process); the transaction's next query then fails, and with it the write.
      client.on('error', ignore);
      const result = await work(client, await open(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      failed = true;
      await client?.query('ROLLBACK').catch(ignore);
      throw storageError(err, this.target, action);
    } finally {
      client?.off('error', ignore);
      client?.release(failed);
      if (guarded) this.#writing = false;
    }
  }

  /** A value fixed when the log was created (meta table), if set. */
  meta(name: string): Promise<string | undefined> {
    return this.#read('read its meta data', async () => {
      const { rows } = await this.#pool.query('SELECT value FROM meta WHERE name = $1', [name]);
      return (rows[0] as { value: string } | undefined)?.value;
    });
  }

  /** Sets `name` unless it is set already: the value stored, which is the first opener's. */
  claimMeta(name: string, value: string): Promise<string> {
    return this.#read('write its meta data', () => claimMetaOn(this.#pool, name, value));
  }

  /**
   * The checkpoints table as the engine's record of the last checkpoint it signed, shared by every process
   * on this database. `sizeOf` reads a note's tree size (the signature is the engine's to check).
   */
  lastSignedStore(sizeOf: (note: string) => number): LastSignedStore {
    return {
      read: () =>
        this.#read('read the last signed checkpoint', async () => {
          const { rows } = await this.#pool.query('SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1');
          return (rows[0] as { note: string } | undefined)?.note;
        }),
      write: (note) => this.#read('record a signed checkpoint', () => recordSignedOn(this.#pool, sizeOf(note), note)),
    };
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
