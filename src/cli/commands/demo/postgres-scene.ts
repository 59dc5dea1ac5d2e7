// The demo's PostgreSQL scene: the on-prem log beyond one machine. A PostgreSQL server of the demo's
// own (initdb in its work folder), the on-prem log moved into it (`log migrate`), two `airlock log
// serve --storage postgres://…` processes on it sharing the log key — one sequences, the other stands
// by — entries appended, the sequencer killed with SIGKILL, the standby taking over, and its checkpoint
// proved consistent with the one signed before the kill and with the on-prem log's before the move.
// Everything the scene starts is stopped, also when a step fails.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../../../crypto/signer.ts';
import type { Checkpoint } from '../../../log/checkpoint.ts';
import type { VerifiedCheckpoint } from '../../../log/tile-client.ts';
import type { PostgresCluster } from '../../../tools/postgres-cluster.ts';
import { type LogProcess, startLogProcess } from './log-process.ts';
import { ONPREM_ORIGIN, type OnPremLog } from './onprem-log.ts';
import type { DemoRun } from './run.ts';

export interface PostgresSceneInputs {
  /** The on-prem log, stopped by now: moved into PostgreSQL, served there with its key. */
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
    const migrated = await migrateOnPremLog(run, shared, inputs.onprem);
    const serve = (name: string) =>
      startLogProcess(serveArgs(shared, name), shared.env, (p) => {
        started.push(p);
      });
    const [sequencer, standby] = await sequencerAndStandby(run, serve, inputs);
    await failover(run, { sequencer, standby, migrated, inputs });
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

/** `airlock log migrate --from DIR --to URL`, in this process. */
async function migrateOnPremLog(run: DemoRun, shared: Shared, onprem: OnPremLog): Promise<Checkpoint> {
  run.step(
    'move the on-prem log into it, now that it is stopped (airlock log migrate --from DIR --to postgres://…): ' +
      'copied in one transaction, then read back and verified',
  );
  const { migrateLog, openSqliteSource } = await import('../../../log/migrate.ts');
  const { PostgresLogStorage } = await import('../../../log/postgres-storage.ts');
  const { openCheckpointFrom } = await import('../../../log/tile-client.ts');
  const files = { db: join(onprem.dir, 'log.db'), checkpoint: join(onprem.dir, 'checkpoint') };
  const source = await openSqliteSource({ ...files, publicKey: join(onprem.dir, 'log.pub') });
  let result: Awaited<ReturnType<typeof migrateLog>>;
  try {
    const target = await PostgresLogStorage.open({ url: shared.url, passfile: shared.env.PGPASSFILE });
    try {
      result = await migrateLog(source, target);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
  run.out.info(
    `  ${result.size} entries and ${result.tiles} tile(s) copied from ${files.db}; verified: the root from the ` +
      `entries and from the tiles, the last signed checkpoint (size ${result.lastSignedSize})`,
  );
  run.record('log migrate', result.copied && result.size > 0 && result.lastSignedSize === result.size);
  return openCheckpointFrom('the migrated log', result.checkpoint, onprem.verifier).checkpoint;
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
    'the on-prem log served from PostgreSQL by two processes sharing its key (airlock log serve --storage ' +
      'postgres://…, twice): one sequences, the other stands by, serving reads and refusing writes',
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
  /** The on-prem log's checkpoint as it was migrated. */
  readonly migrated: Checkpoint;
  readonly sequencer: LogProcess;
  readonly standby: LogProcess;
  readonly inputs: PostgresSceneInputs;
}

async function failover(run: DemoRun, { sequencer, standby, migrated, inputs }: Failover): Promise<void> {
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
  const sinceMove = await after.proveExtends(migrated);
  out.info(
    `  killed pid ${sequencer.pid} at size ${before.checkpoint.size}; pid ${standby.pid} sequencing after ` +
      `${tookOver ?? '—'} ms, its first entry (index ${index}) acknowledged ${appendedMs} ms after the kill`,
  );
  out.info(`  ${consistency(before, after, proof.length)}   (airlock log verify --since)`);
  out.info(
    `  and it extends the on-prem log's checkpoint at size ${migrated.size} from before the move ` +
      `(${sinceMove.length} hashes): one log, moved and failed over, never forked`,
  );
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
