// What the log benches share (bench/log-sqlite.ts, bench/log-postgres.ts): distinct valid requests and
// synthetic entries of their size, the closed-loop driver and its latencies, the HTTP load against a
// running `airlock log serve`, and the report's tables. One definition, so both storages are measured
// and printed the same way.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { loadavg } from 'node:os';
import { createKeyObjectSigner } from '../src/crypto/key-object-signer.ts';
import { checkpointSignerFor } from '../src/log/checkpoint-signer.ts';
import {
  type CreateEntryRequestJSON,
  parseCreateEntryRequest,
  toCreateEntryRequest,
} from '../src/log/rekor-request.ts';
import { formatRate, median } from './harness.ts';
import { LoadConnection, renderPost } from './http-client.ts';

export const ORIGIN = '127.0.0.1'; // the origin test/helpers/log-server.ts serves under
export const KEY_VAR = 'AIRLOCK_BENCH_LOG_KEY';

/** A fresh checkpoint key for the bench's log, also in $KEY_VAR for the `log serve` child (env://). */
export function benchLogKey() {
  const logKey = generateKeyPairSync('ed25519').privateKey;
  process.env[KEY_VAR] = logKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    logKey,
    checkpoints: checkpointSignerFor(ORIGIN, createKeyObjectSigner(logKey, 'ed25519', 'bench log key')),
  };
}

export const signers = {
  'P-256': generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'RSA-2048': generateKeyPairSync('rsa', { modulusLength: 2048 }),
};
export type SignerName = keyof typeof signers;
export const SIGNER_NAMES = Object.keys(signers) as SignerName[];

let serial = 0;
/** Distinct valid requests: node:crypto's P-256 or RSA signature of an artifact is one over its SHA-256 digest. */
export function requestBodies(n: number, signer: SignerName = 'P-256'): string[] {
  const { privateKey, publicKey } = signers[signer];
  return Array.from({ length: n }, () => {
    const artifact = Buffer.from(`bench artifact ${serial++}`);
    const digest = createHash('sha256').update(artifact).digest();
    return JSON.stringify(
      toCreateEntryRequest({ digest, signature: sign('sha256', artifact, privateKey), verifier: publicKey }),
    );
  });
}

// Prefill and raw rows are a real entry with a unique digest written over the real one: the real size
// without signing a million artifacts. Lower-case tags after upper-case padding keep phases apart.
const firstRequest = requestBodies(1)[0] as string;
export const template = Buffer.from(parseCreateEntryRequest(JSON.parse(firstRequest)).body);
const digestAt = template.indexOf((JSON.parse(firstRequest) as CreateEntryRequestJSON).hashedRekordRequestV002.digest);
export function syntheticEntry(tag: string, n: number): Buffer {
  const entry = Buffer.from(template);
  entry.write(`${tag}${n.toString(36)}`.padStart(43, 'A'), digestAt, 'latin1');
  return entry;
}

// ---------------------------------------------------------------------------------------------------
// Measuring

export interface Load {
  readonly done: number;
  readonly seconds: number;
  /** Per operation, ms. */
  readonly latencies: number[];
}

/** `callers` callers each start the next operation as soon as their last one returns, while `more`. */
export async function closedLoop(
  callers: number,
  op: (n: number, caller: number) => Promise<unknown>,
  more: (issued: number) => boolean,
): Promise<Load> {
  const latencies: number[] = [];
  let issued = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      while (more(issued)) {
        const t = performance.now();
        await op(issued++, caller);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { done: latencies.length, seconds: (performance.now() - start) / 1000, latencies };
}

export const joinLoads = (loads: readonly Load[]): Load => ({
  done: loads.reduce((n, l) => n + l.done, 0),
  seconds: loads.reduce((n, l) => n + l.seconds, 0),
  latencies: loads.flatMap((l) => l.latencies),
});

export function percentile(values: readonly number[], p: number): number {
  if (p === 50) return median(values);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export const rateOf = (load: Load) => load.done / load.seconds;
export const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3)).padStart(7);
export const count = (n: number) => n.toLocaleString('en-US');
export const times = (r: number) => `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
// Other work on the machine moves every figure: the load average goes into the output.
export const load = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;

async function post(connection: LoadConnection, request: Buffer): Promise<void> {
  const { status, body } = await connection.send(request);
  if (status !== 201) throw new Error(`POST answered ${status}: ${body.toString()}`);
}

async function batchMetrics(url: string): Promise<{ entries: number; batches: number; seconds: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    entries: read('airlock_log_batch_size_sum'),
    batches: read('airlock_log_batch_size_count'),
    seconds: read('airlock_log_batch_seconds_sum'),
  };
}

// ---------------------------------------------------------------------------------------------------
// Report: each table's first row is the subject; the others show subject/this, as harness.report does.

/** What one window of HTTP load measured. */
export interface HttpLoad {
  readonly load: Load;
  /** Entries per committed batch, and a batch's time (commit to answered), from the server's metrics. */
  readonly batchSize: number;
  readonly commitMs: number;
  /** Cores the load client used (this process, user + system), for what it took from the server. */
  readonly clientCores: number;
}

/** `clients` keep-alive connections POSTing `bodies` (each once) to a serving log for `seconds` at most. */
export async function driveHttp(
  url: string,
  bodies: readonly string[],
  clients: number,
  seconds: number,
): Promise<HttpLoad> {
  const requests = bodies.map((b) => renderPost(url, '/api/v2/log/entries', b));
  const connections = await Promise.all(Array.from({ length: clients }, () => LoadConnection.open(url)));
  const before = await batchMetrics(url);
  const cpu = process.cpuUsage();
  const deadline = performance.now() + seconds * 1000;
  const load = await closedLoop(
    clients,
    (n, caller) => post(connections[caller] as LoadConnection, requests[n] as Buffer),
    (issued) => issued < requests.length && performance.now() < deadline,
  ).finally(() => {
    for (const c of connections) c.close();
  });
  const used = process.cpuUsage(cpu);
  const after = await batchMetrics(url);
  const batches = after.batches - before.batches;
  return {
    load,
    batchSize: (after.entries - before.entries) / batches,
    commitMs: ((after.seconds - before.seconds) / batches) * 1000,
    clientCores: (used.user + used.system) / 1e6 / load.seconds,
  };
}

export interface Row {
  readonly name: string;
  readonly rate: number;
  readonly unit: string;
  readonly p50?: number;
  readonly p99?: number;
  readonly note?: string;
}

export const loadRow = (name: string, load: Load, unit: string, note?: string): Row => ({
  name,
  rate: rateOf(load),
  unit,
  p50: percentile(load.latencies, 50),
  p99: percentile(load.latencies, 99),
  ...(note ? { note } : {}),
});

export function table(title: string, rows: readonly Row[]): void {
  const subject = rows[0];
  if (!subject) return;
  console.log(`\n${title}`);
  console.log(`  ${''.padEnd(48)} ${'rate'.padStart(20)}   ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}`);
  for (const r of rows) {
    const lat = r.p50 === undefined ? ''.padEnd(15) : `${ms(r.p50)} ${ms(r.p99 ?? NaN)}`;
    const ratio = r === subject ? '' : `   airlock/this = ${times(subject.rate / r.rate)}`;
    console.log(
      `  ${r.name.padEnd(48)} ${formatRate(r.rate, r.unit).padStart(20)}   ${lat}${ratio}` +
        `${r.note ? `   ${r.note}` : ''}`,
    );
  }
}

export const verdict = (ratio: number, target: number, atLeast: boolean) => {
  const met = atLeast ? ratio >= target : ratio <= target;
  return met ? 'met' : `MISSED by ${(atLeast ? target / ratio : ratio / target).toFixed(2)}x`;
};
