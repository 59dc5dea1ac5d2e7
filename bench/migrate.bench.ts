// `npm run bench -- migrate`: `airlock log migrate` (a sqlite log into PostgreSQL, verified) next to the
// raw cost of moving the same bytes into the same PostgreSQL, measured in the same run.
//   - the source: a real sqlite log as `log serve --data DIR` keeps it (log.db, checkpoint, log.pub),
//     written through LogEngine over SqliteLogStorage: `--entries` P-256 hashedrekord bodies (the log
//     benches' synthetic entries: a real body's size, a unique digest each);
//   - a real PostgreSQL (test/helpers/postgres.ts: fsync, synchronous_commit and full_page_writes on);
//   - migrate: the real CLI, `airlock log migrate --from DIR --to postgres://… --json`, its password from
//     a PGPASSFILE as an operator runs it (process start-up included); for context the same steps
//     in-process, as the command wires them (openSqliteSource, PostgresLogStorage.open, migrateLog), with
//     the time of each step;
//   - raw, the floor: every row of the sqlite file's entries, tiles and state read with node:sqlite and
//     written into plain tables of the same shape (columns, primary keys, unique identity), multi-row
//     INSERTs of 1,000 rows with parameters, all in ONE transaction, then COMMIT (`pg` alone has no COPY
//     FROM STDIN, and the bench adds no dependency).
// Every window gets a fresh empty database, made (and the last one dropped, then a CHECKPOINT) untimed
// before it; the contenders are interleaved `--rounds` times, and the target is read on the median of
// the paired ratios (migrate / raw of the same round).
//   npm run bench -- migrate [--entries 50000] [--rounds 3] [--quick]
import { createPublicKey } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { publicKeyPem } from '../src/crypto/keys.ts';
import { LogEngine } from '../src/log/engine.ts';
import { lastSignedFile } from '../src/log/last-signed-file.ts';
import { type MigrationTarget, migrateLog, openSqliteSource } from '../src/log/migrate.ts';
import { PostgresLogStorage } from '../src/log/postgres-storage.ts';
import { SqliteLogStorage } from '../src/log/sqlite-storage.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../test/helpers/postgres.ts';
import { compare, exec, median, report, time } from './harness.ts';
import { benchLogKey, count, load, syntheticEntry, template, times, verdict } from './log-load.ts';
import { parseMigrateArgs } from './migrate-args.ts';

const { entries, rounds } = parseMigrateArgs(process.argv.slice(2));
// Migrate makes three passes over the log where the raw copy makes one: it checks the source (every
// entry hashed, the tree rebuilt, every tile read), copies it (each batch's identities looked up, then
// inserted), then reads the copy back from PostgreSQL and verifies it the same way. Each pass costs at
// least about what the raw copy does (the copy alone measured 1.1-1.2x of it), so a migrate without any
// waste would run at about a third of the raw rate; the target, a quarter, leaves room for the CLI's
// start-up and the hashing the raw copy does not do. Measured on 2 busy cores: medians 0.31-0.36x.
const TARGET = 0.25;
const PREFILL_BATCH = 16_384;
const RAW_ROWS_PER_INSERT = 1_000;
const AIRLOCK_BIN = new URL('../bin/airlock.js', import.meta.url).pathname;

const skip = postgresAvailable();
if (skip) {
  console.log(`migrate bench skipped: ${skip}`);
  process.exit(0);
}

const root = await mkdtemp(join(tmpdir(), 'airlock-bench-migrate-'));
const dir = join(root, 'log');
const passfile = join(root, 'pgpass');
let database: PostgresServer | undefined;
const cleanup = async () => {
  await database?.stop();
  await rm(root, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));

// ---------------------------------------------------------------------------------------------------
// The source: a sqlite log as `log serve --data DIR` leaves it.

async function makeSourceLog(): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { logKey, checkpoints } = benchLogKey();
  await writeFile(join(dir, 'log.pub'), publicKeyPem(createPublicKey(logKey)));
  const engine = await LogEngine.open({
    storage: SqliteLogStorage.open(join(dir, 'log.db')),
    checkpoints,
    lastSigned: lastSignedFile(join(dir, 'checkpoint')),
    maxBatch: PREFILL_BATCH,
  });
  const took = await time(async () => {
    for (let i = 0; i < entries; i += 2 * PREFILL_BATCH) {
      const chunk = Array.from({ length: Math.min(2 * PREFILL_BATCH, entries - i) }, (_, k) =>
        syntheticEntry('p', i + k),
      );
      await Promise.all(chunk.map((e) => engine.append(e)));
    }
  });
  await engine.close();
  const bytes = (await stat(join(dir, 'log.db'))).size;
  console.log(
    `source: ${count(entries)} entries of ${template.length} bytes (P-256 hashedrekord bodies) written through ` +
      `LogEngine in ${took.toFixed(1)} s; log.db ${(bytes / 2 ** 20).toFixed(1)} MiB, ${count(tileRows())} tiles`,
  );
}

function tileRows(): number {
  const db = new DatabaseSync(join(dir, 'log.db'), { readOnly: true });
  try {
    return Number((db.prepare('SELECT count(*) AS n FROM tiles').get() as { n: number }).n);
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// A fresh database for every window.

class Databases {
  readonly #server: PostgresServer;
  #made = 0;
  /** The database the next window writes into. */
  current = '';

  constructor(server: PostgresServer) {
    this.#server = server;
  }

  url(): string {
    return this.#server.url.replace(/\/airlock$/, `/${this.current}`);
  }

  config(): pg.ClientConfig {
    return { ...this.#server.config(), database: this.current };
  }

  /** Drops the last window's database, makes the next one, and flushes what that wrote, so no window pays for it. */
  async next(): Promise<void> {
    const admin = await this.#server.admin();
    try {
      if (this.current) await admin.query(`DROP DATABASE ${this.current} WITH (FORCE)`);
      this.current = `migrate_${this.#made++}`;
      await admin.query(`CREATE DATABASE ${this.current} OWNER airlock`);
      await admin.query('CHECKPOINT');
    } finally {
      await admin.end();
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Migrate: the CLI as an operator runs it, and the same steps in-process.

async function migrateCli(dbs: Databases): Promise<void> {
  const out = await exec(
    process.execPath,
    [AIRLOCK_BIN, 'log', 'migrate', '--from', dir, '--to', dbs.url(), '--json'],
    {
      env: { ...process.env, PGPASSFILE: passfile, AIRLOCK_HOME: join(root, 'home') },
    },
  );
  const result = JSON.parse(out) as { copied?: boolean; size?: number; verified?: boolean };
  if (!result.copied || !result.verified || result.size !== entries)
    throw new Error(`log migrate did not copy the log: ${out}`);
}

/** Seconds in each step: checking the source, the copy's transaction, verifying the copy. */
interface Steps {
  check: number;
  copy: number;
  verify: number;
}

/** The target, its write transaction timed: what comes before it is the check, what comes after the verification. */
function timedWrites(target: PostgresLogStorage, marks: number[]): MigrationTarget {
  return new Proxy(target, {
    get(t, name) {
      const value: unknown = Reflect.get(t, name, t);
      if (typeof value !== 'function') return value;
      if (name !== 'write') return (value as (...a: unknown[]) => unknown).bind(t);
      return async (work: Parameters<PostgresLogStorage['write']>[0]) => {
        marks.push(performance.now());
        try {
          return await t.write(work);
        } finally {
          marks.push(performance.now());
        }
      };
    },
  });
}

async function migrateInProcess(dbs: Databases, steps: Steps[]): Promise<void> {
  const source = await openSqliteSource({
    db: join(dir, 'log.db'),
    checkpoint: join(dir, 'checkpoint'),
    publicKey: join(dir, 'log.pub'),
  });
  try {
    const storage = await PostgresLogStorage.open({ url: dbs.url(), passfile });
    try {
      const marks = [performance.now()];
      const result = await migrateLog(source, timedWrites(storage, marks));
      marks.push(performance.now());
      if (!result.copied || result.size !== entries) throw new Error('migrateLog did not copy the log');
      const [start = 0, begin = 0, end = 0, done = 0] = marks;
      steps.push({ check: (begin - start) / 1000, copy: (end - begin) / 1000, verify: (done - end) / 1000 });
    } finally {
      await storage.close();
    }
  } finally {
    await source.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Raw: the same rows into tables of the same shape, one transaction.

const RAW_TABLES = [
  'CREATE TABLE entries (idx bigint PRIMARY KEY, data bytea NOT NULL, identity bytea NOT NULL UNIQUE)',
  'CREATE TABLE tiles (level int NOT NULL, idx bigint NOT NULL, width int NOT NULL, data bytea NOT NULL, ' +
    'PRIMARY KEY (level, idx))',
  'CREATE TABLE state (id int PRIMARY KEY, size bigint NOT NULL, root bytea NOT NULL, checkpoint text NOT NULL)',
];

const RAW_COPIES = [
  { table: 'entries', columns: ['idx', 'data', 'identity'] },
  { table: 'tiles', columns: ['level', 'idx', 'width', 'data'] },
  { table: 'state', columns: ['id', 'size', 'root', 'checkpoint'] },
] as const;

/** ($1, $2, $3), ($4, $5, $6), … for `rows` rows of `width` columns. */
function valuesList(rows: number, width: number): string {
  const row = (r: number) => Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ');
  return Array.from({ length: rows }, (_, r) => `(${row(r)})`).join(', ');
}

/** node:sqlite hands BLOBs out as Uint8Array; pg sends a Buffer as binary. */
const param = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

async function copyTable(
  source: DatabaseSync,
  client: pg.Client,
  { table, columns }: (typeof RAW_COPIES)[number],
): Promise<number> {
  const list = columns.join(', ');
  let batch: unknown[][] = [];
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await client.query(
      `INSERT INTO ${table} (${list}) VALUES ${valuesList(batch.length, columns.length)}`,
      batch.flat(),
    );
    rows += batch.length;
    batch = [];
  };
  for (const row of source.prepare(`SELECT ${list} FROM ${table}`).iterate()) {
    batch.push(columns.map((c) => param((row as Record<string, unknown>)[c])));
    if (batch.length === RAW_ROWS_PER_INSERT) await flush();
  }
  await flush();
  return rows;
}

async function rawCopy(dbs: Databases): Promise<void> {
  const source = new DatabaseSync(join(dir, 'log.db'), { readOnly: true });
  const client = new pg.Client(dbs.config());
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const ddl of RAW_TABLES) await client.query(ddl);
    const copied = [];
    for (const copy of RAW_COPIES) copied.push(await copyTable(source, client, copy));
    await client.query('COMMIT');
    if (copied[0] !== entries) throw new Error(`the raw copy moved ${copied[0]} entries, not ${entries}`);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
    source.close();
  }
}

// ---------------------------------------------------------------------------------------------------

async function measure(dbs: Databases): Promise<void> {
  const steps: Steps[] = [];
  const next = () => dbs.next();
  await next();
  const samples = await compare(
    [
      { name: 'airlock log migrate (CLI)', run: () => migrateCli(dbs), cleanup: next },
      { name: 'raw copy, 1 transaction', run: () => rawCopy(dbs), cleanup: next },
      { name: 'migrateLog in-process (context)', run: () => migrateInProcess(dbs, steps), cleanup: next },
    ],
    rounds,
  );
  report(`${count(entries)} entries, ${rounds} round(s), interleaved`, samples, (s) => entries / s, 'entries/s');
  const [cli, raw] = samples;
  const ratios = (cli?.seconds ?? []).map((s, i) => (raw?.seconds[i] ?? NaN) / s);
  const m = median(ratios);
  const step = (pick: (s: Steps) => number) => `${median(steps.map(pick)).toFixed(2)} s`;
  console.log(
    `\nin-process steps (median): check the source ${step((s) => s.check)}, copy (one transaction) ` +
      `${step((s) => s.copy)}, verify the copy ${step((s) => s.verify)}`,
  );
  console.log(
    `\ntarget (${load()})\n  log migrate (CLI) / raw copy of the same rows, median of ${ratios.length} paired ` +
      `round(s) >= ${TARGET}x: ${times(m)} ${m >= TARGET ? 'MET' : verdict(m, TARGET, true)} ` +
      `(${ratios.map(times).join(' ')})\n  migrate checks the source, copies it, then reads the copy back and ` +
      'verifies it: three passes over the log, and every entry hashed on each, against one pass of plain rows',
  );
}

try {
  console.log(
    `migrate bench: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${load()}, ` +
      `data in ${root}`,
  );
  await makeSourceLog();
  database = await startPostgres();
  const db = database;
  await writeFile(passfile, `127.0.0.1:${db.port}:*:airlock:${db.password}\n`, { mode: 0o600 });
  const admin = await db.admin();
  const { rows } = await admin.query(
    "SELECT version() AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, " +
      "current_setting('full_page_writes') AS fpw",
  );
  await admin.end();
  const s = rows[0] as Record<string, string>;
  console.log(`${(s.v ?? '').split(' on ')[0]}: fsync=${s.fsync} synchronous_commit=${s.sc} full_page_writes=${s.fpw}`);
  await measure(new Databases(db));
} finally {
  await cleanup();
}
