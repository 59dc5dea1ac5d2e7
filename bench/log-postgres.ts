// `npm run bench -- log --storage postgres`: the transparency log on PostgreSQL under HTTP load, next to
// what that PostgreSQL itself durably commits one row at a time, measured in the same run.
//   - a real PostgreSQL (test/helpers/postgres.ts: initdb in a temporary folder, fsync, synchronous_commit
//     and full_page_writes on), the log prefilled in-process through LogEngine over PostgresLogStorage;
//   - a real `airlock log serve --storage postgres://…` (password from a PGPASSFILE, as an operator runs
//     it), `--clients` keep-alive clients POSTing distinct valid P-256 hashedrekord requests with the
//     lean client of the sqlite bench (bench/http-client.ts);
//   - raw: single-row INSERTs, each its own committed transaction (autocommit: one round trip, the
//     cheapest committed single-row insert there is), of rows of the log's entry bytes into
//     `raw_entries`, a copy of the log's `entries` table (same columns, primary key and unique index,
//     same rows): from one connection (the target's baseline, as the sqlite bench's raw 1 row/tx is
//     one writer), and, for context, from `--raw-connections` connections in a closed loop (by default
//     one per HTTP client, at most 48, the test server's connection limit less the log's pool), whose
//     commits PostgreSQL flushes together (group commit): what the database takes from many
//     independent writers, which a log committing one ordered batch at a time does not get.
// Each HTTP window is followed at once by the raw windows, `--rounds` times; the target (HTTP
// appends/s >= 0.5x raw rows/s on one connection, as the sqlite driver holds against raw sqlite) is
// read on the median of those paired ratios, and the concurrent ratio is printed beside it. Tables
// grow through the run (no restore between windows): both sizes are printed.
//   npm run bench -- log --storage postgres [--entries 20000] [--seconds 10] [--rounds 3] [--clients 64]
//                        [--raw-connections CLIENTS] [--sweep] [--profile] [--quick]
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { entryIdentity, LogEngine, type LogEngineOptions } from '../src/log/engine.ts';
import { writeSmallFileAtomic } from '../src/files/atomic-write.ts';
import { lastSignedFile } from '../src/log/last-signed-file.ts';
import { PostgresLogStorage } from '../src/log/postgres-storage.ts';
import { type RunningServer, startLog } from '../test/helpers/log-server.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../test/helpers/postgres.ts';
import { formatRate, median, time } from './harness.ts';
import {
  closedLoop,
  count,
  driveHttp,
  type HttpLoad,
  joinLoads,
  type Load,
  load,
  loadRow,
  rateOf,
  requestBodies,
  syntheticEntry,
  table,
  template,
  times,
  verdict,
  benchLogKey,
  KEY_VAR,
} from './log-load.ts';
import { profileWrites, transactionShapes } from './log-postgres-profile.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    clients: { type: 'string', default: '64' },
    'raw-connections': { type: 'string' },
    sweep: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});
const size = Number(values.entries ?? (values.quick ? 2_000 : 20_000));
const seconds = Number(values.seconds ?? (values.quick ? 3 : 10));
const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
const clients = Number(values.clients);
// test/helpers/postgres.ts runs the server with max_connections=60: the log's pool and ours need some.
const MAX_RAW_CONNECTIONS = 48;
const rawConnections = Number(values['raw-connections'] ?? Math.min(clients, MAX_RAW_CONNECTIONS));
const rawSeconds = Math.max(1, Math.round(seconds / 3));
const TARGET = 0.5;

const PREFILL_BATCH = 4096;

const skip = postgresAvailable();
if (skip) {
  console.log(`log bench on PostgreSQL skipped: ${skip}`);
  process.exit(0);
}

const root = await mkdtemp(join(tmpdir(), 'airlock-bench-log-pg-'));
const dir = join(root, 'data');
let database: PostgresServer | undefined;
const servers = new Set<RunningServer>();
const cleanup = async () => {
  await Promise.all([...servers].map((s) => s.kill()));
  await database?.stop();
  await rm(root, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));

const { checkpoints } = benchLogKey();

// ---------------------------------------------------------------------------------------------------
// The log, in-process for the prefill (and --profile), as `log serve --storage` wires it.

/** `recordMs`, when given, gets the time of each write of the last-signed checkpoint file. */
async function openEngine(
  db: PostgresServer,
  options: Pick<LogEngineOptions, 'maxBatch' | 'onBatch'> = {},
  recordMs?: number[],
): Promise<LogEngine> {
  const write = async (path: string, data: string) => {
    const started = performance.now();
    await writeSmallFileAtomic(path, data);
    recordMs?.push(performance.now() - started);
  };
  return LogEngine.open({
    storage: await PostgresLogStorage.open({ url: db.url, password: db.password }),
    checkpoints,
    lastSigned: lastSignedFile(join(dir, 'checkpoint'), write),
    ...options,
  });
}

async function prefill(db: PostgresServer): Promise<void> {
  await mkdir(dir, { recursive: true });
  const engine = await openEngine(db, { maxBatch: PREFILL_BATCH });
  const took = await time(async () => {
    for (let i = 0; i < size; i += 2 * PREFILL_BATCH) {
      const chunk = Array.from({ length: Math.min(2 * PREFILL_BATCH, size - i) }, (_, k) => syntheticEntry('p', i + k));
      await Promise.all(chunk.map((e) => engine.append(e)));
    }
  });
  await engine.close();
  console.log(
    `prefill ${count(size)} entries of ${template.length} bytes in batches of ${PREFILL_BATCH}: ` +
      `${took.toFixed(1)} s (${formatRate(size / took, 'entries/s')})`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Raw PostgreSQL: the entries table's twin, the same rows, single-row committed inserts.

async function prepareRaw(db: PostgresServer): Promise<void> {
  const client = new pg.Client(db.config());
  await client.connect();
  try {
    // LIKE … INCLUDING ALL: the same columns, CHECK, primary key and unique index (the write-once
    // triggers fire on UPDATE and DELETE only, so they cost an INSERT nothing and are left out).
    await client.query('CREATE TABLE raw_entries (LIKE entries INCLUDING ALL)');
    await client.query('INSERT INTO raw_entries SELECT * FROM entries');
    await client.query('VACUUM ANALYZE raw_entries');
  } finally {
    await client.end();
  }
}

let rawNext = -1;
let rawRows = 0;

/** `connections` clients, each inserting one row per transaction as fast as PostgreSQL commits them. */
async function rawWindow(db: PostgresServer, connections: number, windowSeconds: number): Promise<Load> {
  const pool = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new pg.Client(db.config());
      await client.connect();
      return client;
    }),
  );
  try {
    if (rawNext < 0) {
      const { rows } = await (pool[0] as pg.Client).query('SELECT coalesce(max(idx) + 1, 0) AS next FROM raw_entries');
      rawNext = Number((rows[0] as { next: string }).next);
    }
    const deadline = performance.now() + windowSeconds * 1000;
    return await closedLoop(
      connections,
      (_, caller) => {
        const data = syntheticEntry('r', rawRows++);
        return (pool[caller] as pg.Client).query({
          name: 'raw-insert',
          text: 'INSERT INTO raw_entries (idx, data, identity) VALUES ($1, $2, $3)',
          values: [rawNext++, data, entryIdentity(data)],
        });
      },
      () => performance.now() < deadline,
    );
  } finally {
    await Promise.all(pool.map((c) => c.end()));
  }
}

// ---------------------------------------------------------------------------------------------------
// Over HTTP: `airlock log serve --storage postgres://…`, the password from PGPASSFILE.

interface HttpWindow extends HttpLoad {
  readonly startSeconds: number;
  /** Cores busy during the window: the log server process, and the whole machine (PostgreSQL is most of the rest). */
  readonly serverCores: number;
  readonly machineCores: number;
}

/** CPU seconds so far: of process `pid` (user + system), and of the machine (all but idle and iowait). */
function cpuSeconds(pid: number): { process: number; machine: number } {
  const hz = 100; // USER_HZ on Linux
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const busy = cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
  return { process: (Number(fields[11]) + Number(fields[12])) / hz, machine: busy / hz };
}

async function httpWindow(db: PostgresServer, bodies: readonly string[]): Promise<HttpWindow> {
  let server: RunningServer | undefined;
  const startSeconds = await time(async () => {
    server = await startLog(dir, `env://${KEY_VAR}`, { extra: ['--storage', db.url] });
    servers.add(server);
  });
  if (!server) throw new Error('log serve did not start');
  try {
    const pid = server.child.pid as number;
    const before = cpuSeconds(pid);
    const figures = await driveHttp(server.url, bodies, clients, seconds);
    const after = cpuSeconds(pid);
    const cores = (s: number) => s / figures.load.seconds;
    return {
      ...figures,
      startSeconds,
      serverCores: cores(after.process - before.process),
      machineCores: cores(after.machine - before.machine),
    };
  } finally {
    await server.stop();
    servers.delete(server);
  }
}

async function tableSizes(db: PostgresServer): Promise<string> {
  const client = new pg.Client(db.config());
  await client.connect();
  try {
    // One row, named columns: UNION ALL does not promise its rows' order.
    const { rows } = await client.query(
      'SELECT (SELECT count(*) FROM entries) AS log, (SELECT count(*) FROM raw_entries) AS raw',
    );
    const { log, raw } = rows[0] as { log: string; raw: string };
    return `entries ${count(Number(log))}, raw_entries ${count(Number(raw))}`;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------

interface Round {
  readonly http: HttpWindow;
  readonly raw: Load;
  /** One connection, one row per committed transaction: the target's baseline, as raw sqlite is its driver's. */
  readonly rawOne: Load;
  readonly sizes: string;
}

/** The target: against what one connection durably commits one row at a time (sqlite's baseline, on PostgreSQL). */
const ratioOf = (r: Round) => rateOf(r.http.load) / rateOf(r.rawOne);
/** Context: against many connections' commits, which PostgreSQL flushes together (group commit). */
const concurrentRatioOf = (r: Round) => rateOf(r.http.load) / rateOf(r.raw);

async function measure(db: PostgresServer): Promise<Round[]> {
  const out: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    // Distinct requests enough for the window at a rate well past what this VM serves.
    const bodies = requestBodies(Math.ceil(6000 * seconds), 'P-256');
    const http = await httpWindow(db, bodies);
    const raw = await rawWindow(db, rawConnections, rawSeconds);
    const rawOne = await rawWindow(db, 1, rawSeconds);
    out.push({ http, raw, rawOne, sizes: await tableSizes(db) });
    const r = out[out.length - 1] as Round;
    console.log(
      `  round ${round + 1}: HTTP ${formatRate(rateOf(http.load), 'appends/s')} (batches avg ` +
        `${http.batchSize.toFixed(1)}, ${http.commitMs.toFixed(1)} ms; cores: server ${http.serverCores.toFixed(2)}, ` +
        `machine ${http.machineCores.toFixed(2)}) / raw 1 connection ${formatRate(rateOf(rawOne), 'rows/s')} = ` +
        `${times(ratioOf(r))} (${rawConnections} connections: ${formatRate(rateOf(raw), 'rows/s')}, ` +
        `${times(concurrentRatioOf(r))}); ${r.sizes}; ${load()}`,
    );
  }
  return out;
}

async function sweep(db: PostgresServer): Promise<void> {
  console.log(`\nraw single-row committed inserts by connections (${rawSeconds} s each)`);
  for (const n of [1, 2, 4, 8, 16, 32, 48]) {
    const l = await rawWindow(db, n, rawSeconds);
    console.log(`  ${String(n).padStart(2)} connections: ${formatRate(rateOf(l), 'rows/s')}`);
  }
}

function report(rounds: readonly Round[]): void {
  const mean = (pick: (w: HttpWindow) => number) =>
    rounds.reduce((sum, r) => sum + pick(r.http) * r.http.load.seconds, 0) /
    rounds.reduce((sum, r) => sum + r.http.load.seconds, 0);
  table(
    `HTTP appends, P-256 signers (airlock log serve --storage postgres://…, ${availableParallelism()} verify ` +
      `workers, server start ${mean((w) => w.startSeconds).toFixed(2)} s), ${rounds.length} x ${seconds} s`,
    [
      loadRow(
        `POST /api/v2/log/entries, ${clients} clients`,
        joinLoads(rounds.map((r) => r.http.load)),
        'appends/s',
        `batches avg ${mean((w) => w.batchSize).toFixed(1)}, batch avg ${mean((w) => w.commitMs).toFixed(1)} ms, ` +
          `cores: client ${mean((w) => w.clientCores).toFixed(2)}, server ${mean((w) => w.serverCores).toFixed(2)}, ` +
          `machine ${mean((w) => w.machineCores).toFixed(2)}`,
      ),
      loadRow(
        `raw INSERT, 1 row/tx, ${rawConnections} connections, paired (context)`,
        joinLoads(rounds.map((r) => r.raw)),
        'rows/s',
        `${rounds.length} x ${rawSeconds} s, latency = one commit`,
      ),
      loadRow(
        'raw INSERT, 1 row/tx, 1 connection, paired (the target)',
        joinLoads(rounds.map((r) => r.rawOne)),
        'rows/s',
        `${rounds.length} x ${rawSeconds} s`,
      ),
    ],
  );
  const ratios = rounds.map(ratioOf);
  const m = median(ratios);
  console.log(
    `\ntarget (${load()})\n  HTTP appends / raw 1 row/tx on 1 connection right after, median of ${ratios.length} ` +
      `>= ${TARGET}x: ${times(m)} ${m >= TARGET ? 'MET' : verdict(m, TARGET, true)} (${ratios.map(times).join(' ')})`,
  );
  const concurrent = rounds.map(concurrentRatioOf);
  console.log(
    `  context: HTTP appends / raw 1 row/tx on ${rawConnections} connections (commits flushed together), median: ` +
      `${times(median(concurrent))} (${concurrent.map(times).join(' ')}); the log commits its batches one at a time`,
  );
}

try {
  console.log(
    `log bench on PostgreSQL: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ` +
      `${load()}, data in ${root}`,
  );
  database = await startPostgres();
  const db = database;
  const settings = await db.admin('airlock');
  const { rows } = await settings.query(
    "SELECT version() AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, " +
      "current_setting('full_page_writes') AS fpw, current_setting('shared_buffers') AS sb",
  );
  await settings.end();
  const s = rows[0] as Record<string, string>;
  console.log(
    `${(s.v ?? '').split(' on ')[0]}: fsync=${s.fsync} synchronous_commit=${s.sc} full_page_writes=${s.fpw} ` +
      `shared_buffers=${s.sb}, data in ${root}`,
  );
  console.log(`entry: a P-256 hashedrekord v0.0.2 body of ${template.length} bytes; log at ${count(size)} to start`);
  // The log server reads the password as an operator's would: from a libpq password file.
  const passfile = join(root, 'pgpass');
  await writeFile(passfile, `127.0.0.1:${db.port}:airlock:airlock:${db.password}\n`, { mode: 0o600 });
  process.env.PGPASSFILE = passfile;
  await prefill(db);
  await prepareRaw(db);
  if (values.sweep) await sweep(db);
  if (values.profile) {
    const batch = await profileWrites((onBatch, recordMs) => openEngine(db, { onBatch }, recordMs), seconds, clients);
    await transactionShapes(db.config(), batch, seconds);
  }
  console.log(`\npaired rounds: HTTP ${seconds} s, then raw ${rawSeconds} s`);
  report(await measure(db));
} finally {
  await cleanup();
}
