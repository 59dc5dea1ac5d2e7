// `--profile` for the PostgreSQL log bench: where a batch's time goes. Appends run in-process (the HTTP
// clients' concurrency, so batches are the size they are under HTTP) while every statement `pg` sends is
// timed by kind, from the call to its answer: round trips, the COMMIT's WAL flush, and what is left of a
// batch for the engine's own work (hashing, tiles, signing, the last-signed file). Bench code only: it
// wraps pg.Client.prototype.query for the window and puts it back.
import pg from 'pg';
import { formatRate } from './harness.ts';
import { closedLoop, percentile, rateOf, syntheticEntry } from './log-load.ts';
import { entryIdentity, type LogEngine, type LogEngineOptions } from '../src/log/engine.ts';

type BatchFigures = Parameters<NonNullable<LogEngineOptions['onBatch']>>[0];

const KINDS: ReadonlyArray<[string, RegExp]> = [
  ['BEGIN', /^BEGIN/],
  ['LOCK TABLE state', /^LOCK TABLE state/],
  ['SELECT state', /^SELECT size, root, checkpoint FROM state/],
  ['SELECT entries by identity', /^SELECT identity, idx FROM entries/],
  ['INSERT entries', /^INSERT INTO entries/],
  ['INSERT tiles', /^INSERT INTO tiles/],
  ['SELECT tiles', /^SELECT width, data FROM tiles/],
  ['INSERT state', /^INSERT INTO state/],
  ['COMMIT', /^COMMIT/],
];

const kindOf = (text: string) => KINDS.find(([, re]) => re.test(text))?.[0] ?? text.slice(0, 40);

type Query = (...args: unknown[]) => unknown;

/** Times every statement sent while `during` runs. */
async function timingStatements(during: () => Promise<void>): Promise<Map<string, number[]>> {
  const timings = new Map<string, number[]>();
  const proto = pg.Client.prototype as unknown as { query: Query };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    const kind = kindOf(typeof first === 'string' ? first : (first?.text ?? ''));
    const started = performance.now();
    const result = original.apply(this, args);
    const done = () => {
      const list = timings.get(kind) ?? timings.set(kind, []).get(kind);
      list?.push(performance.now() - started);
    };
    if (result instanceof Promise) result.then(done, done);
    return result;
  };
  try {
    await during();
  } finally {
    proto.query = original;
  }
  return timings;
}

/**
 * Appends from `callers` in-process callers for `seconds`, and prints the statements of its batches; returns
 * the entries per write transaction.
 */
export async function profileWrites(
  open: (onBatch: (b: BatchFigures) => void, recordMs: number[]) => Promise<LogEngine>,
  seconds: number,
  callers = 64,
): Promise<number> {
  const batchMs: number[] = [];
  let n = 0;
  let rate = 0;
  const recordMs: number[] = [];
  const engine = await open((b) => batchMs.push(b.ms), recordMs);
  const timings = await timingStatements(async () => {
    const deadline = performance.now() + seconds * 1000;
    const load = await closedLoop(
      callers,
      () => engine.append(syntheticEntry('f', n++)),
      () => performance.now() < deadline,
    );
    rate = rateOf(load);
  });
  await engine.close();
  const writes = timings.get('BEGIN')?.length ?? 1;
  console.log(
    `\nprofile: in-process engine.append over PostgreSQL, ${callers} callers, ${seconds} s: ` +
      `${formatRate(rate, 'appends/s')}, ${writes} write transactions (${(n / writes).toFixed(1)} entries each)`,
  );
  console.log(`  ${'statement'.padEnd(28)} ${'per tx'.padStart(7)} ${'mean ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  let total = 0;
  for (const [kind, list] of timings) {
    const sum = list.reduce((a, b) => a + b, 0);
    total += sum;
    console.log(
      `  ${kind.padEnd(28)} ${(list.length / writes).toFixed(2).padStart(7)} ` +
        `${(sum / list.length).toFixed(2).padStart(8)} ${percentile(list, 99).toFixed(2).padStart(8)}`,
    );
  }
  console.log(
    `  statements in all: ${(total / writes).toFixed(2)} ms per write transaction; ` +
      `${((total / (seconds * 1000)) * 100).toFixed(0)}% of the window`,
  );
  const mean = batchMs.reduce((a, b) => a + b, 0) / batchMs.length;
  console.log(
    `  a batch, write start to its callers answered: mean ${mean.toFixed(2)} ms, p99 ` +
      `${percentile(batchMs, 99).toFixed(2)} ms (the rest is the engine's work and the last-signed file)`,
  );
  // Recorded while the next batch commits (one publication in flight): it holds a batch's callers.
  const recordMean = recordMs.reduce((a, b) => a + b, 0) / recordMs.length;
  console.log(
    `  recording its checkpoint in DATA/checkpoint (temp file, fsync, rename, directory fsync): mean ` +
      `${recordMean.toFixed(2)} ms, p99 ${percentile(recordMs, 99).toFixed(2)} ms`,
  );
  return Math.max(1, Math.round(n / writes));
}

// ---------------------------------------------------------------------------------------------------
// The write transaction's shape, A/B: the statements PostgresLogStorage.write sends for a batch today
// (8 round trips), against the same work in 5 (BEGIN, LOCK and the state read as one simple-protocol
// message; the tiles and the state in one statement) and in 4 (the identity lookup inside the insert, or
// none: ON CONFLICT), on one connection, one transaction at a time.

const TILE_BYTES = 32 * 64;

interface Shape {
  readonly name: string;
  run(client: pg.Client, rows: Rows): Promise<void>;
}

const values = (count: number, width: number, from = 0) =>
  Array.from(
    { length: count },
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${from + r * width + c + 1}`).join(', ')})`,
  ).join(', ');

const TILE_UPSERT = 'ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, data = excluded.data';
const STATE_UPSERT =
  'ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint';
const tiles = (size: number) => [0, 1, 2].flatMap((level) => [level, Math.floor(size / 256 ** (level + 1)), 64]);
const tileParams = (size: number) => {
  const t = tiles(size);
  return [0, 1, 2].flatMap((i) => [...t.slice(3 * i, 3 * i + 3), Buffer.alloc(TILE_BYTES, i)]);
};
const CHECKPOINT = `127.0.0.1\n12345\n${'A'.repeat(44)}\n\n— 127.0.0.1 ${'B'.repeat(88)}\n`;

type Rows = Array<[number, Buffer, Buffer]>;

const sizeOf = (result: pg.QueryResult) => Number((result.rows[0] as { size: string }).size);

/** BEGIN, the lock and the state read as one simple-protocol message (no parameters): one round trip. */
async function openMerged(client: pg.Client, savepoint = false): Promise<number> {
  const results = (await client.query(
    'BEGIN ISOLATION LEVEL READ COMMITTED; LOCK TABLE shape_state IN EXCLUSIVE MODE; ' +
      `SELECT size, root, checkpoint FROM shape_state WHERE id = 1${savepoint ? '; SAVEPOINT entries' : ''}`,
  )) as unknown as pg.QueryResult[];
  return sizeOf(results[2] as pg.QueryResult);
}

const lookUp = (client: pg.Client, rows: Rows) =>
  client.query('SELECT identity, idx FROM shape_entries WHERE identity = ANY($1::bytea[])', [rows.map((r) => r[2])]);

const insertEntries = (client: pg.Client, rows: Rows, size: number, onConflict = '') =>
  client.query(
    `INSERT INTO shape_entries (idx, data, identity) VALUES ${values(rows.length, 3)} ${onConflict}`,
    rows.flatMap(([, d, id], i) => [size + i, d, id]),
  );

const stateParams = (size: number) => [size, Buffer.alloc(32, 7), CHECKPOINT];

/** The tiles and the new state in one statement, then COMMIT: two round trips. */
async function closeMerged(client: pg.Client, size: number): Promise<void> {
  await client.query(
    `WITH t AS (INSERT INTO shape_tiles (level, idx, width, data) VALUES ${values(3, 4)} ${TILE_UPSERT} ` +
      `RETURNING 1) INSERT INTO shape_state (id, size, root, checkpoint) VALUES (1, $13, $14, $15) ${STATE_UPSERT}`,
    [...tileParams(size), ...stateParams(size)],
  );
  await client.query('COMMIT');
}

const SHAPES: readonly Shape[] = [
  {
    name: 'as PostgresLogStorage.write today (8 round trips)',
    async run(client, rows) {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      await client.query('LOCK TABLE shape_state IN EXCLUSIVE MODE');
      const size = sizeOf(await client.query('SELECT size, root, checkpoint FROM shape_state WHERE id = 1'));
      await lookUp(client, rows);
      await insertEntries(client, rows, size);
      await client.query(
        `INSERT INTO shape_tiles (level, idx, width, data) VALUES ${values(3, 4)} ${TILE_UPSERT}`,
        tileParams(size),
      );
      await client.query(
        `INSERT INTO shape_state (id, size, root, checkpoint) VALUES (1, $1, $2, $3) ${STATE_UPSERT}`,
        stateParams(size + rows.length),
      );
      await client.query('COMMIT');
    },
  },
  {
    name: 'merged (5 round trips)',
    async run(client, rows) {
      const size = await openMerged(client);
      await lookUp(client, rows);
      await insertEntries(client, rows, size);
      await closeMerged(client, size + rows.length);
    },
  },
  {
    // The lookup inside the insert: the statement inserts the rows unless one is stored, and answers
    // those (the proposal for PostgresLogStorage.appendEntries; works without a savepoint).
    name: 'merged, lookup inside the insert (4 round trips)',
    async run(client, rows) {
      const size = await openMerged(client);
      const types = Array.from(
        { length: rows.length },
        (_, r) => `($${3 * r + 1}::bigint, $${3 * r + 2}::bytea, $${3 * r + 3}::bytea)`,
      );
      const { rows: found } = await client.query(
        `WITH input (idx, data, identity) AS (VALUES ${types.join(', ')}), ` +
          'dup AS (SELECT e.identity, e.idx FROM shape_entries e JOIN input i ON e.identity = i.identity), ' +
          'ins AS (INSERT INTO shape_entries (idx, data, identity) SELECT idx, data, identity FROM input ' +
          'WHERE NOT EXISTS (SELECT 1 FROM dup)) SELECT identity, idx FROM dup',
        rows.flatMap(([, d, id], i) => [size + i, d, id]),
      );
      if (found.length !== 0) throw new Error('a duplicate in the shape bench');
      await closeMerged(client, size + rows.length);
    },
  },
  {
    // The common batch has no duplicate: insert optimistically, and only when the identity index turned
    // a row away, roll back to the savepoint (opened with the transaction, no round trip of its own) and
    // look the duplicates up as today.
    name: 'merged, duplicates by ON CONFLICT (4 round trips)',
    async run(client, rows) {
      const size = await openMerged(client, true);
      const inserted = await insertEntries(client, rows, size, 'ON CONFLICT (identity) DO NOTHING');
      if (inserted.rowCount !== rows.length) throw new Error('a duplicate in the shape bench');
      await closeMerged(client, size + rows.length);
    },
  },
];

/** Each shape for `seconds` in 4 interleaved turns (every other one in reverse order), `batch` rows per transaction. */
export async function transactionShapes(config: pg.ClientConfig, batch: number, seconds: number): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    for (const t of ['entries', 'tiles', 'state'])
      await client.query(`CREATE TABLE shape_${t} (LIKE ${t} INCLUDING ALL)`);
    await client.query('INSERT INTO shape_state SELECT * FROM state');
    let serial = 0;
    const done = new Map<string, { tx: number; ms: number }>();
    for (let round = 0; round < 4; round++) {
      for (const shape of round % 2 ? [...SHAPES].reverse() : SHAPES) {
        const deadline = performance.now() + (seconds * 1000) / 4;
        const figures = done.get(shape.name) ?? done.set(shape.name, { tx: 0, ms: 0 }).get(shape.name)!;
        while (performance.now() < deadline) {
          const rows = Array.from({ length: batch }, (): [number, Buffer, Buffer] => {
            const data = syntheticEntry('s', serial++);
            return [0, data, entryIdentity(data)];
          });
          const t = performance.now();
          await shape.run(client, rows);
          figures.ms += performance.now() - t;
          figures.tx++;
        }
      }
    }
    console.log(
      `\nprofile: the write transaction's shape, ${batch} rows per transaction, one connection, ${seconds} s each`,
    );
    for (const [name, f] of done)
      console.log(
        `  ${name.padEnd(50)} ${(f.ms / f.tx).toFixed(2).padStart(6)} ms per tx ` +
          `${formatRate((f.tx * batch * 1000) / f.ms, 'rows/s').padStart(14)}`,
      );
  } finally {
    await client.end();
  }
}
