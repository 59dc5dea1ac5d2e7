// Load bench for the transparency log, next to baselines measured in the same run:
//   1. appends/s and p50/p99 latency with the log at ~small and ~large entries, in-process through
//      LogEngine.append (many callers, so batches fill), against raw node:sqlite inserts of rows of the
//      same bytes into the engine's entries table with the same PRAGMAs (WAL, synchronous=FULL), committed
//      in transactions of the engine's observed batch size, and one row per transaction;
//   2. the same end to end: a real `airlock log serve` on loopback, concurrent keep-alive clients POSTing
//      distinct valid hashedrekord requests (bench/http-client.ts: a lean client, because it shares this
//      machine's CPUs with the server; the run prints what it used), against the same raw baselines and
// the verify-pool ceiling (parse + prehash signature checks/s in a pool of the server's size). Twice: P-256 signers
// (cosign's
//      default; checked over the digest by OpenSSL through native/ecdsa-prehash, or by @noble/curves
//      in JavaScript when that is not built: the run says which) and RSA-2048 signers (checked by
//      node:crypto). Each signer type is one key, so the log's cache of
//      parsed verifiers is warm: keyless signing (a new certificate per request) parses every time;
//      At ~small, RSA once more with `--witness-policy` naming two `log witness-serve` witnesses
//      (quorum: both), next to the same window without: what witnessing each checkpoint costs;
//   3. engine.inclusionProof at random indices, cold-ish (fresh engine) and warm, at 1k and large.
// While measured, every log and raw table stays between its size and twice it (put back when it doubles).
// This VM's figures move by 2x within minutes, so each HTTP window is paired with a raw 1 row/tx window
// measured right after it, several rounds, and the target is read on the median of the paired ratios.
//   npm run bench -- log [--entries 1000000] [--small 10000] [--proof-small 1000] [--seconds 10]
//                        [--rounds 3] [--concurrency 2048] [--clients 64] [--proofs 1000] [--quick] [--proofs-only]
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { entryIdentity, LogEngine, type LogEngineOptions } from '../src/log/engine.ts';
import { ecdsaOverDigestBackend } from '../src/crypto/ecdsa-over-digest.ts';
import { lastSignedFile } from '../src/log/last-signed-file.ts';
import { leafHash, verifyInclusion } from '../src/log/merkle.ts';
import { encodeVerifierKey } from '../src/log/note-keys.ts';
import { SqliteLogStorage } from '../src/log/sqlite-storage.ts';
import { VerifyPool } from '../src/server/verify-pool.ts';
import { type RunningServer, spawnServer, startLog } from '../test/helpers/log-server.ts';
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
  ms,
  percentile,
  rateOf,
  requestBodies,
  SIGNER_NAMES,
  type SignerName,
  syntheticEntry,
  table,
  template,
  times,
  verdict,
  benchLogKey,
  KEY_VAR,
  ORIGIN,
} from './log-load.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string' },
    small: { type: 'string' },
    'proof-small': { type: 'string', default: '1000' },
    seconds: { type: 'string' },
    // Twice the default max batch: while one batch commits, the next one fills completely.
    concurrency: { type: 'string', default: '2048' },
    clients: { type: 'string', default: '64' },
    proofs: { type: 'string', default: '1000' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'proofs-only': { type: 'boolean', default: false },
  },
});
const large = Number(values.entries ?? (values.quick ? 20_000 : 1_000_000));
const small = Number(values.small ?? (values.quick ? 2_000 : 10_000));
const proofSmall = Number(values['proof-small']);
const seconds = Number(values.seconds ?? (values.quick ? 2 : 10));
const concurrency = Number(values.concurrency);
const clients = Number(values.clients);
const proofs = Number(values.proofs);
// HTTP windows per signer and size, each followed at once by a raw 1 row/tx window: the ratio is taken
// per pair, under the same machine conditions, and the median of the pairs is the figure.
const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
const pairedSeconds = Math.max(1, Math.round(seconds / 3));

const PREFILL_BATCH = 16_384;
const workers = availableParallelism(); // `log serve`'s default --workers

const root = await mkdtemp(join(tmpdir(), 'airlock-bench-log-'));
const servers = new Set<RunningServer>();
const pools = new Set<VerifyPool>();
const cleanup = async () => {
  await Promise.all([...servers].map((s) => s.kill()));
  await Promise.all([...pools].map((p) => p.close()));
  await rm(root, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));

const { logKey, checkpoints } = benchLogKey();

// ---------------------------------------------------------------------------------------------------
// The engine, wired as `airlock log serve` wires it (same files under --data) so the server can open
// a log prefilled here.

function openEngine(dir: string, options: Pick<LogEngineOptions, 'maxBatch' | 'onBatch'> = {}): Promise<LogEngine> {
  return LogEngine.open({
    storage: SqliteLogStorage.open(join(dir, 'log.db')),
    checkpoints,
    lastSigned: lastSignedFile(join(dir, 'checkpoint')),
    ...options,
  });
}

async function prefill(dir: string, to: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const engine = await openEngine(dir, { maxBatch: PREFILL_BATCH });
  const from = engine.size;
  const took = await time(async () => {
    for (let i = from; i < to; i += 2 * PREFILL_BATCH) {
      const chunk = Array.from({ length: Math.min(2 * PREFILL_BATCH, to - i) }, (_, k) => syntheticEntry('p', i + k));
      await Promise.all(chunk.map((e) => engine.append(e)));
    }
  });
  await engine.close();
  const bytes = (await stat(join(dir, 'log.db'))).size;
  console.log(
    `prefill ${count(to - from)} entries of ${template.length} bytes in batches of ` +
      `${PREFILL_BATCH}: ${took.toFixed(1)} s (${formatRate((to - from) / took, 'entries/s')}), ` +
      `log.db ${(bytes / 2 ** 20).toFixed(0)} MiB`,
  );
}

const restore = async (snapshot: string, dir: string) => {
  await rm(dir, { recursive: true, force: true });
  await cp(snapshot, dir, { recursive: true });
  // Written back now, not during the next window, where it would slow every fsync measured there.
  execFileSync('sync');
};

interface EngineFigures {
  readonly load: Load;
  readonly batchSize: number;
  readonly commitMs: number[];
}

async function engineWindow(dir: string, snapshot: string, size: number): Promise<EngineFigures> {
  const batches: Array<{ n: number; ms: number }> = [];
  const loads: Load[] = [];
  let left = seconds * 1000;
  let n = 0;
  while (left > 0) {
    const engine = await openEngine(dir, { onBatch: (b) => batches.push({ n: b.appended + b.duplicates, ms: b.ms }) });
    const room = 2 * size - engine.size;
    const deadline = performance.now() + left;
    const load = await closedLoop(
      concurrency,
      () => engine.append(syntheticEntry('w', n++)),
      (issued) => issued < room && performance.now() < deadline,
    );
    await engine.close();
    loads.push(load);
    left -= load.seconds * 1000;
    if (left > 0) await restore(snapshot, dir);
  }
  return {
    load: joinLoads(loads),
    batchSize: batches.reduce((s, b) => s + b.n, 0) / batches.length,
    commitMs: batches.map((b) => b.ms),
  };
}

// ---------------------------------------------------------------------------------------------------
// Raw node:sqlite: the engine's entries table as sqlite-storage.ts declares it (same row bytes, same
// unique index) and its PRAGMAs; the tiles, state and checkpoint the engine also writes are its cost.

function openRaw(path: string, rows: number): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
  db.exec('CREATE TABLE entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL, identity BLOB NOT NULL UNIQUE)');
  const insert = db.prepare('INSERT INTO entries (idx, data, identity) VALUES (?, ?, ?)');
  for (let i = 0; i < rows; i += 50_000) {
    db.exec('BEGIN');
    for (let k = i; k < Math.min(rows, i + 50_000); k++) {
      const data = syntheticEntry('p', k);
      insert.run(k, data, entryIdentity(data));
    }
    db.exec('COMMIT');
  }
  return db;
}

let rawRows = 0;
/** Only BEGIN..COMMIT is timed: making the rows is the caller's work, not the database's. */
function rawWindow(db: DatabaseSync, size: number, batch: number, windowSeconds = seconds): Load {
  const insert = db.prepare('INSERT INTO entries (idx, data, identity) VALUES (?, ?, ?)');
  const latencies: number[] = [];
  let spent = 0;
  let next = Infinity; // starts by putting the table back to `size` rows
  while (spent < windowSeconds * 1000) {
    if (next + batch > 2 * size) {
      db.prepare('DELETE FROM entries WHERE idx >= ?').run(size);
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)'); // the delete's pages are not the next commits' cost
      next = size;
    }
    const rows = Array.from({ length: batch }, (_, k) => {
      const data = syntheticEntry('r', rawRows++);
      return [next + k, data, entryIdentity(data)] as const;
    });
    const t = performance.now();
    db.exec('BEGIN IMMEDIATE');
    for (const row of rows) insert.run(...row);
    db.exec('COMMIT');
    const took = performance.now() - t;
    spent += took;
    latencies.push(took);
    next += batch;
  }
  return { done: latencies.length * batch, seconds: spent / 1000, latencies };
}

// ---------------------------------------------------------------------------------------------------
// Over HTTP

interface HttpFigures extends HttpLoad {
  readonly startSeconds: number;
}

const WITNESSES = 2;
/**
 * `log witness-serve` witnesses of the bench log, fresh state each time; returns the policy file naming them all
 * (quorum: all).
 */
async function startWitnesses(dir: string): Promise<{ policy: string; running: RunningServer[] }> {
  await mkdir(dir, { recursive: true });
  const vkey = join(dir, 'witnessed.vkey');
  await writeFile(vkey, `${encodeVerifierKey(ORIGIN, createPublicKey(logKey))}\n`);
  const running = await Promise.all(
    Array.from({ length: WITNESSES }, async (_, i) => {
      const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const args = [
        'log',
        'witness-serve',
        '--state',
        join(dir, `witness-${i}.json`),
        '--init',
        '--key',
        'env://AIRLOCK_BENCH_WITNESS_KEY',
        '--name',
        `w${i}.bench`,
        '--log',
        vkey,
        '--listen',
        '127.0.0.1:0',
      ];
      const w = await spawnServer(args, {
        AIRLOCK_BENCH_WITNESS_KEY: key,
        AIRLOCK_HOME: join(dir, `witness-${i}-home`),
      }).ready;
      servers.add(w);
      return w;
    }),
  );
  const lines = running.map(
    (w, i) => `witness w${i} ${String((w.lines().find((l) => l.msg === 'serving') as { vkey: string }).vkey)} ${w.url}`,
  );
  const policy = join(dir, 'witnesses.policy');
  await writeFile(
    policy,
    `${lines.join('\n')}\ngroup all all ${running.map((_, i) => `w${i}`).join(' ')}\nquorum all\n`,
  );
  return { policy, running };
}

async function httpWindow(dir: string, bodies: readonly string[], witnessed = false): Promise<HttpFigures> {
  let server: RunningServer | undefined;
  const witnesses = witnessed ? await startWitnesses(join(root, 'witnesses')) : undefined;
  const extra = witnesses ? ['--witness-policy', witnesses.policy] : [];
  const startSeconds = await time(async () =>
    servers.add((server = await startLog(dir, `env://${KEY_VAR}`, { extra }))),
  );
  if (!server) throw new Error('log serve did not start');
  try {
    return { ...(await driveHttp(server.url, bodies, clients, seconds)), startSeconds };
  } finally {
    for (const s of [server, ...(witnesses?.running ?? [])]) {
      await s.stop();
      servers.delete(s);
    }
    await rm(join(root, 'witnesses'), { recursive: true, force: true });
  }
}

async function poolCeiling(signer: SignerName): Promise<number> {
  const pool = new VerifyPool(workers);
  pools.add(pool);
  // The pool's workers are unref'd (in the server, its socket keeps the process alive): this does here.
  const alive = setInterval(() => {}, 1000);
  try {
    const bodies = requestBodies(1000, signer);
    await Promise.all(bodies.slice(0, 8 * workers).map((b) => pool.verify(b))); // workers load their modules
    const deadline = performance.now() + seconds * 1000;
    return rateOf(
      await closedLoop(
        clients,
        (n) => pool.verify(bodies[n % bodies.length] as string),
        () => performance.now() < deadline,
      ),
    );
  } finally {
    clearInterval(alive);
    await pool.close();
    pools.delete(pool);
  }
}

// ---------------------------------------------------------------------------------------------------
// Inclusion proofs

interface ProofFigures {
  readonly cold: number[];
  readonly warm: number[];
}

/** A fresh engine (no tile cache, fresh sqlite connection; the OS page cache stays warm): cold-ish. */
async function proofTimes(dir: string): Promise<ProofFigures> {
  const engine = await openEngine(dir);
  try {
    const size = engine.size;
    const indices = Array.from({ length: proofs }, () => Math.floor(Math.random() * size));
    const timeAll = async () => {
      const out: number[] = [];
      for (const i of indices) out.push((await time(() => engine.inclusionProof(i, size))) * 1000);
      return out;
    };
    const cold = await timeAll();
    const warm = await timeAll();
    for (const i of indices.slice(0, 8)) {
      const entry = (await engine.readEntry(i)) as Uint8Array;
      if (!verifyInclusion(i, size, leafHash(entry), await engine.inclusionProof(i, size), engine.root))
        throw new Error(`the proof for ${i} does not verify`);
    }
    return { cold, warm };
  } finally {
    await engine.close();
  }
}

// ---------------------------------------------------------------------------------------------------

interface PairedRound {
  readonly http: HttpFigures;
  /** Raw single-row inserts measured right after the HTTP window. */
  readonly rawOne: Load;
}

const pairedRatio = (p: PairedRound) => rateOf(p.http.load) / rateOf(p.rawOne);

function mergeHttp(windows: readonly HttpFigures[]): HttpFigures {
  const load = joinLoads(windows.map((w) => w.load));
  const mean = (pick: (w: HttpFigures) => number) =>
    windows.reduce((sum, w) => sum + pick(w) * w.load.seconds, 0) / load.seconds;
  return {
    load,
    batchSize: mean((w) => w.batchSize),
    commitMs: mean((w) => w.commitMs),
    startSeconds: mean((w) => w.startSeconds),
    clientCores: mean((w) => w.clientCores),
  };
}

interface SizeFigures {
  readonly size: number;
  readonly engine: EngineFigures;
  /** Every round's windows merged. */
  readonly http: Record<SignerName, HttpFigures>;
  readonly paired: Record<SignerName, PairedRound[]>;
  /** RSA-2048 again with two witnesses cosigning each checkpoint (at ~small only). */
  readonly witnessed?: HttpFigures;
  readonly rawEngineBatch: Load;
  readonly rawOne: Load;
}

interface Measured extends SizeFigures {
  readonly engineBatch: number;
  /** Raw single-transaction batches at each signer's HTTP batch size. */
  readonly httpRaw: ReadonlyArray<{ signer: SignerName; batch: number; load: Load }>;
}

async function measureAtSize(size: number, ceilings: Record<SignerName, number>, prepared?: string): Promise<Measured> {
  const dir = prepared ?? join(root, `log-${size}`);
  if (!prepared) await prefill(dir, size);
  const snapshot = `${dir}.snapshot`;
  await cp(dir, snapshot, { recursive: true });

  const raw = openRaw(join(root, `raw-${size}.db`), size);
  // Enough distinct requests for the window at the pool's ceiling, and never more than doubles the log.
  const bodiesFor = (signer: SignerName) =>
    requestBodies(Math.min(size, Math.ceil(ceilings[signer] * seconds * 1.25) + clients), signer);
  const paired = { 'P-256': [], 'RSA-2048': [] } as Record<SignerName, PairedRound[]>;
  for (let round = 0; round < rounds; round++) {
    for (const signer of SIGNER_NAMES) {
      const figures = await httpWindow(dir, bodiesFor(signer));
      paired[signer].push({ http: figures, rawOne: rawWindow(raw, size, 1, pairedSeconds) });
      await restore(snapshot, dir);
    }
  }
  const http = Object.fromEntries(
    SIGNER_NAMES.map((signer) => [signer, mergeHttp(paired[signer].map((p) => p.http))]),
  ) as Record<SignerName, HttpFigures>;
  let witnessed: HttpFigures | undefined;
  if (size === small) {
    witnessed = await httpWindow(dir, bodiesFor('RSA-2048'), true);
    await restore(snapshot, dir);
  }
  const engine = await engineWindow(dir, snapshot, size);
  await rm(snapshot, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });

  const engineBatch = Math.max(1, Math.round(engine.batchSize));
  const rawEngineBatch = rawWindow(raw, size, engineBatch);
  const rawOne = rawWindow(raw, size, 1);
  const rawByBatch = new Map([
    [engineBatch, rawEngineBatch],
    [1, rawOne],
  ]);
  const rawAtBatch = (batch: number) =>
    rawByBatch.get(batch) ?? (rawByBatch.set(batch, rawWindow(raw, size, batch)).get(batch) as Load);
  const httpRaw = SIGNER_NAMES.map((signer) => {
    const batch = Math.max(1, Math.round(http[signer].batchSize));
    return { signer, batch, load: rawAtBatch(batch) };
  });
  raw.close();
  return {
    size,
    engine,
    http,
    paired,
    ...(witnessed ? { witnessed } : {}),
    rawEngineBatch,
    rawOne,
    engineBatch,
    httpRaw,
  };
}

function rawRowsOf(m: Measured) {
  return [
    loadRow(`raw node:sqlite, ${m.engineBatch} rows/tx`, m.rawEngineBatch, 'rows/s', 'latency = the transaction'),
    loadRow(`raw node:sqlite, 1 row/tx`, m.rawOne, 'rows/s'),
  ];
}

function printInProcess(m: Measured): void {
  const s = count(m.size);
  table(`in-process appends, log at ~${s} entries (held in [${s}, ${count(2 * m.size)}]), ${seconds} s`, [
    loadRow(
      `engine.append, ${concurrency} callers`,
      m.engine.load,
      'appends/s',
      `batches avg ${m.engine.batchSize.toFixed(0)}, commit p50 ` +
        `${percentile(m.engine.commitMs, 50).toFixed(1)} ms p99 ` +
        `${percentile(m.engine.commitMs, 99).toFixed(1)} ms`,
    ),
    ...rawRowsOf(m),
  ]);
}

function printHttp(m: Measured, ceilings: Record<SignerName, number>): void {
  const s = count(m.size);
  for (const { signer, batch, load } of m.httpRaw) {
    const h = m.http[signer];
    const pairs = m.paired[signer];
    table(
      `HTTP appends, ${signer} signers (airlock log serve, ${workers} verify workers, server ` +
        `start ${h.startSeconds.toFixed(2)} s), log at ~${s} entries, ${rounds} x ${seconds} s`,
      [
        loadRow(
          `POST /api/v2/log/entries, ${clients} clients`,
          h.load,
          'appends/s',
          `batches avg ${h.batchSize.toFixed(1)}, batch avg ${h.commitMs.toFixed(1)} ms, client ` +
            `${h.clientCores.toFixed(2)} cores`,
        ),
        { name: `verify-pool ceiling, ${workers} workers`, rate: ceilings[signer], unit: 'checks/s' },
        loadRow(
          `raw node:sqlite, 1 row/tx, paired (after each)`,
          joinLoads(pairs.map((p) => p.rawOne)),
          'rows/s',
          `${rounds} x ${pairedSeconds} s`,
        ),
        ...rawRowsOf(m),
        ...(batch === m.engineBatch || batch === 1
          ? []
          : [loadRow(`raw node:sqlite, ${batch} rows/tx (HTTP's batch)`, load, 'rows/s')]),
      ],
    );
    const pair = (p: (typeof pairs)[number]): string =>
      `${formatRate(rateOf(p.http.load), '')}/ ${formatRate(rateOf(p.rawOne), '')}= ${times(pairedRatio(p))}`;
    console.log(`  paired rounds (HTTP / raw 1 row/tx right after): ${pairs.map(pair).join('; ')}`);
  }
}

function printWitnessed(m: Measured, witnessed: HttpFigures): void {
  const plain = m.http['RSA-2048'];
  table(
    `HTTP appends, RSA-2048 signers, each checkpoint cosigned by ${WITNESSES} log ` +
      `witness-serve witnesses (quorum: all), log at ~${count(m.size)} entries, ${seconds} s`,
    [
      loadRow(
        `POST /api/v2/log/entries, ${clients} clients`,
        witnessed.load,
        'appends/s',
        `batches avg ${witnessed.batchSize.toFixed(1)}, batch avg ` +
          `${witnessed.commitMs.toFixed(1)} ms, client ${witnessed.clientCores.toFixed(2)} cores`,
      ),
      loadRow(
        'the same without witnesses (above)',
        plain.load,
        'appends/s',
        `batches avg ${plain.batchSize.toFixed(1)}, batch avg ${plain.commitMs.toFixed(1)} ms, ` +
          `client ${plain.clientCores.toFixed(2)} cores`,
      ),
    ],
  );
}

async function atSize(size: number, ceilings: Record<SignerName, number>, prepared?: string): Promise<SizeFigures> {
  const m = await measureAtSize(size, ceilings, prepared);
  printInProcess(m);
  printHttp(m, ceilings);
  if (m.witnessed) printWitnessed(m, m.witnessed);
  const { engine, http, paired, witnessed, rawEngineBatch, rawOne } = m;
  return { size, engine, http, paired, ...(witnessed ? { witnessed } : {}), rawEngineBatch, rawOne };
}

function proofTable(title: string, small: ProofFigures, big: ProofFigures): Record<'cold' | 'warm', number> {
  console.log(`\n${title}`);
  const ratios = { cold: 0, warm: 0 };
  for (const kind of ['cold', 'warm'] as const) {
    const a = small[kind];
    const b = big[kind];
    ratios[kind] = percentile(b, 50) / percentile(a, 50);
    const line = (n: number, v: number[]) => `${count(n)}: p50 ${ms(percentile(v, 50))} p99 ${ms(percentile(v, 99))}`;
    console.log(
      `  ` +
        `${`${kind === 'cold' ? 'cold-ish (fresh engine)' : 'warm (same indices again)'}`.padEnd(28)}` +
        ` ${line(proofSmall, a)}   ${line(large, b)}   ${count(large)}/${count(proofSmall)} p50 = ` +
        `${ratios[kind].toFixed(2)}x`,
    );
  }
  return ratios;
}

try {
  console.log(
    `log bench: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${load()}, data in ${root}`,
  );
  console.log(`ECDSA over a digest: ${ecdsaOverDigestBackend().detail}`);
  console.log(
    `entry: a P-256 hashedrekord v0.0.2 body of ${template.length} bytes; log sizes ` +
      `${count(proofSmall)} (proofs), ${count(small)}, ${count(large)}`,
  );

  const proofDir = join(root, `log-${proofSmall}`);
  await prefill(proofDir, proofSmall);
  const smallProofs = await proofTimes(proofDir);
  await rm(proofDir, { recursive: true, force: true });
  const largeDir = join(root, `log-${large}`);
  await prefill(largeDir, large);
  const largeProofs = await proofTimes(largeDir);
  const proofRatio = proofTable(
    `inclusion proofs, engine.inclusionProof at ${proofs} random indices, ms per proof`,
    smallProofs,
    largeProofs,
  );
  if (values['proofs-only']) {
    for (const kind of ['cold', 'warm'] as const)
      console.log(
        `  inclusion proof ${kind} at ${count(large)} within 2x of ${count(proofSmall)}: ` +
          `${proofRatio[kind].toFixed(2)}x ${verdict(proofRatio[kind], 2, false)}`,
      );
  } else {
    const ceilings = {} as Record<SignerName, number>;
    for (const signer of SIGNER_NAMES) {
      ceilings[signer] = await poolCeiling(signer);
      console.log(
        `\nverify-pool ceiling, ${signer}: ${formatRate(ceilings[signer], 'checks/s')} ` +
          `(${workers} workers, ${clients} in flight; parse + canonical body + prehash check per ` +
          `request)`,
      );
    }
    const figures = [await atSize(small, ceilings), await atSize(large, ceilings, largeDir)];

    console.log(`\ntargets (${load()})`);
    for (const f of figures) {
      const at = `~${count(f.size)}`.padEnd(11);
      const e = rateOf(f.engine.load) / rateOf(f.rawEngineBatch);
      console.log(
        `  ${at} engine / raw same batch >= 0.5x: ${e.toFixed(2)}x ${verdict(e, 0.5, true)}; ` +
          `engine / raw 1 row/tx: ${(rateOf(f.engine.load) / rateOf(f.rawOne)).toFixed(2)}x`,
      );
      for (const signer of SIGNER_NAMES) {
        const rate = rateOf(f.http[signer].load);
        const ratios = f.paired[signer].map(pairedRatio);
        const one = median(ratios);
        const same = rate / rateOf(f.rawEngineBatch);
        console.log(
          `  ${at} HTTP ${signer.padEnd(8)} / raw 1 row/tx right after, median of ` +
            `${ratios.length} >= 0.5x: ${one.toFixed(2)}x ${verdict(one, 0.5, true)} ` +
            `(${ratios.map(times).join(' ')}); / raw same batch: ${times(same)}; / its verify-pool ` +
            `ceiling: ${(rate / ceilings[signer]).toFixed(2)}x`,
        );
      }
      if (f.witnessed) {
        const w = rateOf(f.witnessed.load);
        console.log(
          `  ${at} HTTP RSA-2048 with ${WITNESSES} witnesses / raw 1 row/tx: ` +
            `${(w / rateOf(f.rawOne)).toFixed(2)}x; / the same without witnesses: ` +
            `${(w / rateOf(f.http['RSA-2048'].load)).toFixed(2)}x`,
        );
      }
    }
    for (const kind of ['cold', 'warm'] as const) {
      console.log(
        `  inclusion proof ${kind === 'cold' ? 'cold-ish' : 'warm'} at ${count(large)} within 2x ` +
          `of ${count(proofSmall)}: ${proofRatio[kind].toFixed(2)}x ` +
          `${verdict(proofRatio[kind], 2, false)}`,
      );
    }
  }
} finally {
  await cleanup();
}
