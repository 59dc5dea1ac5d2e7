// The demo's PostgreSQL scene: the on-prem log beyond one machine. A PostgreSQL server of the demo's
// own (initdb in its work folder), two `airlock log serve --storage postgres://…` processes on it
// sharing the log key — one sequences, the other stands by — entries appended, the sequencer killed
// with SIGKILL, the standby taking over, and its checkpoint proved consistent with the one signed
// before the kill. Everything the scene starts is stopped, also when a step fails.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../../../crypto/signer.ts';
import type { VerifiedCheckpoint } from '../../../log/tile-client.ts';
import type { PostgresCluster } from '../../../tools/postgres-cluster.ts';
import { type LogProcess, startLogProcess } from './log-process.ts';
import { ONPREM_ORIGIN, type OnPremLog } from './onprem-log.ts';
import type { DemoRun } from './run.ts';

export interface PostgresSceneInputs {
  /** The on-prem log (stopped by now): its key is the one the log keeps on PostgreSQL. */
  readonly onprem: OnPremLog;
  /** Signs the entries appended here (the release key). */
  readonly signer: Signer;
}

const ROLE = 'airlock';
const DATABASE = 'tlog';
const STANDBY_WAIT_MS = 10_000;

/** What the log processes share: the database URL, their environment (passfile, key password), the key file. */
interface Shared {
  readonly dir: string;
  readonly url: string;
  readonly env: Readonly<Record<string, string>>;
  readonly keyPath: string;
}

export async function postgresScene(run: DemoRun, inputs: PostgresSceneInputs): Promise<void> {
  const dir = join(run.work, 'postgres');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const cluster = await demoPostgres(run);
  const started: LogProcess[] = [];
  try {
    const shared = await shareWithLogProcesses(run, dir, cluster, inputs.onprem);
    const serve = (name: string) =>
      startLogProcess(serveArgs(shared, name), shared.env, (p) => {
        started.push(p);
      });
    const [sequencer, standby] = await sequencerAndStandby(run, serve, inputs);
    await failover(run, { sequencer, standby, inputs });
    await standby.stop();
  } finally {
    await Promise.all(started.map((p) => p.kill()));
    await cluster.stop();
  }
}

async function demoPostgres(run: DemoRun): Promise<PostgresCluster> {
  run.step(
    "the log beyond one machine: a PostgreSQL server of the demo's own, made for this run in its work " +
      'folder (initdb, postgres on loopback, fsync on) and removed afterwards',
  );
  const { startPostgresCluster } = await import('../../../tools/postgres-cluster.ts');
  const asRoot = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root it runs as nobody, who must be able to reach its folder.
  if (asRoot) await chmod(run.work, 0o711);
  const cluster = await startPostgresCluster({
    parent: run.work,
    pathList: run.ctx.env.PATH,
    role: ROLE,
    database: DATABASE,
    password: randomBytes(18).toString('base64url'),
    superuserPassword: randomBytes(18).toString('base64url'),
  });
  run.out.info(
    `  ${cluster.url}${asRoot ? ' (running as nobody)' : ''}: the role logs in with a password, ` +
      'kept in a 0600 PGPASSFILE, never on a command line',
  );
  return cluster;
}

async function shareWithLogProcesses(
  run: DemoRun,
  dir: string,
  cluster: PostgresCluster,
  onprem: OnPremLog,
): Promise<Shared> {
  const passfile = join(dir, 'pgpass');
  await cluster.writePassfile(passfile);
  const keyPassword = randomBytes(16).toString('hex');
  const { privateKeyPath } = await onprem.writeKey(join(dir, 'log'), Buffer.from(keyPassword));
  const env = {
    PATH: run.ctx.env.PATH ?? '',
    AIRLOCK_HOME: join(dir, 'home'),
    PGPASSFILE: passfile,
    AIRLOCK_PASSWORD: keyPassword,
  };
  return { dir, url: cluster.url, env, keyPath: privateKeyPath };
}

function serveArgs(shared: Shared, name: string): string[] {
  return [
    ...['--data', join(shared.dir, name), '--key', shared.keyPath, '--origin', ONPREM_ORIGIN],
    ...['--storage', shared.url, '--listen', '127.0.0.1:0', '--workers', '1'],
  ];
}

interface Health {
  readonly role?: string;
  readonly size?: number;
}

async function health(log: LogProcess): Promise<Health> {
  return (await (await fetch(`${log.url}/healthz`)).json()) as Health;
}

async function sequencerAndStandby(
  run: DemoRun,
  serve: (name: string) => Promise<LogProcess>,
  inputs: PostgresSceneInputs,
): Promise<[LogProcess, LogProcess]> {
  const { out } = run;
  run.step(
    'two log processes on that database, sharing the log key (airlock log serve --storage postgres://…, ' +
      'twice): one sequences, the other stands by, serving reads and refusing writes',
  );
  const a = await serve('a');
  const b = await serve('b');
  const roles = [(await health(a)).role, (await health(b)).role];
  out.info(`  ${a.url} (pid ${a.pid}): ${roles[0]}; ${b.url} (pid ${b.pid}): ${roles[1]}   (GET /healthz)`);
  const indexes = [];
  for (let i = 1; i <= 3; i++) indexes.push(await appendEntry(a.url, inputs.signer, `entry ${i}`));
  out.info(`  3 signed entries appended through the sequencer, at indexes ${indexes.join(', ')}`);
  const refused = await fetch(`${b.url}/api/v2/log/entries`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  const code = ((await refused.json().catch(() => ({}))) as { code?: string }).code;
  out.info(`  a write sent to the standby: ${refused.status} ${code} (clients retry the sequencer)`);
  run.record(
    'log standby',
    roles[0] === 'sequencer' && roles[1] === 'standby' && refused.status === 503 && code === 'E_NOT_SEQUENCER',
  );
  return [a, b];
}

/** `airlock sign-blob --rekor-url URL --rekor-api-version 2` on a line of text; the entry's index. */
async function appendEntry(url: string, signer: Signer, text: string): Promise<string> {
  const { signBlob } = await import('../../../sigstore/sign-blob.ts');
  const data = Buffer.from(`airlock demo, log on PostgreSQL: ${text}\n`);
  const signed = await signBlob({ data }, { signer, witnesses: { tlog: { url, apiVersion: 2 } } });
  const entry = signed.bundle.verificationMaterial?.tlogEntries[0];
  // The bundle's JSON leaves a zero index out, as protobuf JSON does with every default.
  return entry ? String(entry.logIndex ?? 0) : 'none';
}

interface Failover {
  readonly sequencer: LogProcess;
  readonly standby: LogProcess;
  readonly inputs: PostgresSceneInputs;
}

async function failover(run: DemoRun, { sequencer, standby, inputs }: Failover): Promise<void> {
  const { out } = run;
  run.step('SIGKILL the sequencer: the standby takes over, and its log extends the checkpoint signed before');
  const { TileClient } = await import('../../../log/tile-client.ts');
  const before = await new TileClient(sequencer.url, inputs.onprem.verifier).latest();
  const killedAt = performance.now();
  await sequencer.kill();
  const tookOver = await untilSequencer(standby, killedAt);
  const index = await appendEntry(standby.url, inputs.signer, 'entry 4, after the failover');
  const appendedMs = Math.round(performance.now() - killedAt);
  const after = await new TileClient(standby.url, inputs.onprem.verifier).latest();
  const proof = await after.proveExtends(before.checkpoint);
  out.info(
    `  killed pid ${sequencer.pid} at size ${before.checkpoint.size}; pid ${standby.pid} sequencing after ` +
      `${tookOver ?? '—'} ms, its first entry (index ${index}) acknowledged ${appendedMs} ms after the kill`,
  );
  out.info(`  ${consistency(before, after, proof.length)}   (airlock log verify --since)`);
  run.record(
    'log failover',
    tookOver !== undefined &&
      Number(index) === before.checkpoint.size &&
      after.checkpoint.size > before.checkpoint.size,
    { takeoverMs: tookOver, appendedMs },
  );
}

function consistency(before: VerifiedCheckpoint, after: VerifiedCheckpoint, hashes: number): string {
  const root = (c: VerifiedCheckpoint) => Buffer.from(c.checkpoint.rootHash).toString('hex').slice(0, 16);
  return (
    `checkpoint at size ${after.checkpoint.size} (root ${root(after)}…) extends the one at size ` +
    `${before.checkpoint.size} (root ${root(before)}…): consistency proof of ${hashes} hashes verified`
  );
}

/** Milliseconds from `since` until the standby says it sequences; undefined if it never does. */
async function untilSequencer(standby: LogProcess, since: number): Promise<number | undefined> {
  while (performance.now() - since < STANDBY_WAIT_MS) {
    if ((await health(standby)).role === 'sequencer') return Math.round(performance.now() - since);
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}
