// `airlock log serve`: the on-prem transparency log (Rekor v2 write API, C2SP tlog-tiles reads).
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ecdsaOverDigestBackend } from '../../../crypto/ecdsa-over-digest.ts';
import type { Signer } from '../../../crypto/signer.ts';
import { AirlockError } from '../../../errors.ts';
import { makeDirs } from '../../../files/state-dir.ts';
import type { LogEngine } from '../../../log/engine.ts';
import type { PostgresLogStorage } from '../../../log/postgres-storage.ts';
import type { TlogPolicy } from '../../../log/tlog-policy.ts';
import { CosignatureGatherer, WITNESS_TIMEOUT_MS } from '../../../log/witness-client.ts';
import { HttpError } from '../../../server/http-io.ts';
import { startLogService } from '../../../server/log-service.ts';
import { Metrics } from '../../../server/metrics.ts';
import type { Command, CommandContext } from '../../command.ts';
import { jsonLineLog, parseListen, untilStopped } from '../../serve.ts';
import { readWitnessPolicyFile } from '../../witness-policy-file.ts';
import { KEY_FLAGS, keySigner } from '../../options/key.ts';
import { postgresStorageOpener } from '../../options/postgres.ts';

type Log = (event: Readonly<Record<string, unknown>>) => void;

/**
 * The engine's witness step: gather cosignatures for each new checkpoint; unless --witness-fail-open,
 * a checkpoint short of the quorum is not published and its callers get 503 (their entries are durable:
 * a retry answers them once the witnesses do).
 */
function witnessStep(
  policy: TlogPolicy,
  prove: (a: number, b: number) => Promise<Uint8Array[]>,
  options: { timeoutMs: number; failOpen: boolean; metrics: Metrics; log: Log },
) {
  const gatherer = new CosignatureGatherer({ policy, prove, timeoutMs: options.timeoutMs });
  const { metrics, log } = options;
  metrics.counter('airlock_log_witness_cosignatures_total', 'Cosignatures gathered, by witness.');
  metrics.counter('airlock_log_witness_failures_total', 'Requests for a cosignature that got none, by witness.');
  metrics.counter(
    'airlock_log_witness_quorum_missed_total',
    'Checkpoints that did not get the quorum of cosignatures.',
  );
  return async (checkpoint: string): Promise<string> => {
    const gathered = await gatherer.gather(checkpoint);
    for (const name of gathered.cosigned) metrics.inc('airlock_log_witness_cosignatures_total', { witness: name });
    for (const f of gathered.failures) metrics.inc('airlock_log_witness_failures_total', { witness: f.witness });
    if (gathered.failures.length > 0 || !gathered.satisfied) {
      log({
        msg: 'witness',
        level: gathered.satisfied ? 'warn' : 'error',
        quorum: policy.quorum,
        satisfied: gathered.satisfied,
        cosigned: gathered.cosigned,
        failures: gathered.failures,
      });
    }
    if (gathered.satisfied) return gathered.note;
    metrics.inc('airlock_log_witness_quorum_missed_total');
    if (options.failOpen) return gathered.note;
    throw new HttpError(
      503,
      'E_UNAVAILABLE',
      `the log's checkpoint did not get the cosignatures its witness policy requires (quorum ` +
        `${policy.quorum}); the entry is logged, and a retry returns it once the witnesses answer`,
      {
        headers: { 'retry-after': '1' },
      },
    );
  };
}

async function serve(ctx: CommandContext) {
  const { flags } = ctx;
  const data = flags.string('data');
  const keyRef = flags.string('key');
  const origin = flags.string('origin');
  if (!data || !keyRef || !origin)
    throw new AirlockError('E_USAGE', 'airlock log serve needs --data DIR, --key REF and --origin NAME');
  if (/[:/\s+]/.test(origin)) {
    throw new AirlockError(
      'E_USAGE',
      `--origin must be the log URL's host name alone (no scheme, port or path), got '${origin}'`,
      {
        hint:
          "Sigstore clients match the checkpoint name against the trusted root's baseUrl host, " +
          'e.g. --origin rekor.internal',
      },
    );
  }
  const address = flags.string('listen') ?? '127.0.0.1:3000';
  parseListen(address); // a bad address is a usage error before anything is opened
  const policyFile = flags.string('witness-policy');
  const policy = policyFile === undefined ? undefined : (await readWitnessPolicyFile(ctx, policyFile)).policy;
  if (!policy && (flags.has('witness-fail-open') || flags.has('witness-timeout')))
    throw new AirlockError('E_USAGE', '--witness-fail-open and --witness-timeout go with --witness-policy FILE');
  const witnessTimeoutMs = flags.int('witness-timeout', WITNESS_TIMEOUT_MS / 1000, 1, 600) * 1000;
  const metrics = new Metrics();
  const log = jsonLineLog(ctx);
  // Built before anything is opened, so a policy the log cannot use changes nothing. Proofs come from
  // the engine serveWith opens; the engine only asks witnesses once it is open.
  const proofs: { engine?: LogEngine } = {};
  const prove = (a: number, b: number) =>
    proofs.engine
      ? proofs.engine.consistencyProof(a, b)
      : Promise.reject(new AirlockError('E_INTERNAL', 'the log is not open yet'));
  const witness =
    policy &&
    witnessStep(policy, prove, {
      timeoutMs: witnessTimeoutMs,
      failOpen: flags.bool('witness-fail-open'),
      metrics,
      log,
    });
  const storageUrl = flags.string('storage');
  const storage = storageUrl === undefined ? undefined : postgresStorageOpener(ctx, storageUrl, '--storage');
  const dir = resolve(ctx.cwd, data);
  await makeDirs(dir);
  const signer = await keySigner(ctx, keyRef);
  try {
    return await serveWith(ctx, { dir, origin, address, signer, metrics, log, policy, witness, proofs, storage });
  } finally {
    await signer.close();
  }
}

interface ServeParts {
  readonly dir: string;
  readonly origin: string;
  readonly address: string;
  readonly signer: Signer;
  readonly metrics: Metrics;
  readonly log: Log;
  readonly policy: TlogPolicy | undefined;
  readonly witness: ((checkpoint: string) => Promise<string>) | undefined;
  /** Where the witness step finds the engine for its consistency proofs. */
  readonly proofs: { engine?: LogEngine };
  readonly storage: (() => Promise<PostgresLogStorage>) | undefined;
}

async function serveWith(
  ctx: CommandContext,
  { dir, origin, address, signer, metrics, log, policy, witness, proofs, storage }: ServeParts,
) {
  const { flags, out } = ctx;
  // Listening for SIGTERM from the start: one that comes while the log opens (or right after it says
  // it serves) stops it cleanly instead of killing it with the signal's default action.
  const stopped = untilStopped();
  const { host, port: wanted } = parseListen(address);
  const service = await startLogService({
    dir,
    origin,
    signer,
    host,
    port: wanted,
    workers: flags.int('workers', availableParallelism(), 1, 64),
    maxBatch: flags.int('max-batch', 1024, 1, 65536),
    ...(witness ? { witness } : {}),
    ...(storage ? { storage, stopped } : {}),
    metrics,
    log,
    onOpen: (engine) => {
      proofs.engine = engine;
    },
  });
  const { engine, logId, vkey, url, port } = service;
  const ecdsa = ecdsaOverDigestBackend();
  log({
    msg: 'serving',
    url,
    origin,
    size: engine.size,
    role: service.role(),
    logId: logId.toString('base64'),
    vkey,
    ecdsaChecker: ecdsa.detail,
    ...(policy ? { witnessQuorum: policy.quorum, witnesses: policy.witnesses.map((w) => w.name) } : {}),
  });
  out.info(`Log ${origin} serving at ${url} (size ${engine.size}); data in ${dir}`);
  if (service.role() === 'standby')
    out.info('  standby   another process sequences writes; this one serves reads and takes over when it stops');
  out.info(`  log ID    ${logId.toString('base64')}`);
  out.info(`  vkey      ${vkey}`);
  if (!ecdsa.native) out.warn(`ECDSA signatures are checked in JavaScript: ${ecdsa.detail}`);
  out.info(
    `  trust it  airlock trust create --rekor="url=http://${origin}:${port}` +
      `,public-key=${join(dir, 'log.pub')},start-time=${ctx.now().toISOString().slice(0, 19)}` +
      `Z,origin=${origin}"`,
  );
  const signal = await stopped;
  log({ msg: 'stopping', signal });
  await service.close();
  return { json: { url, origin, size: engine.size } };
}

export const logServeCommand: Command = {
  name: 'log serve',
  summary: 'Run the on-prem transparency log (Rekor v2 API, C2SP tlog-tiles reads)',
  usage:
    '--data DIR --key REF --origin NAME [--storage postgres://USER@HOST:PORT/DB] [--listen HOST:PORT] ' +
    '[--witness-policy FILE [--witness-fail-open]]',
  description:
    'Accepts Rekor v2 hashedrekord v0.0.2 entries at POST /api/v2/log/entries, verifies each signature,\n' +
    'and answers with the TransparencyLogEntry (inclusion proof + signed checkpoint) that goes into a\n' +
    'Sigstore bundle. Reads: /checkpoint, /tile/L/N[.p/W], /tile/entries/N[.p/W] (also under /api/v2/),\n' +
    '/healthz, /metrics. Requests are logged as JSON lines on stdout. The key (Ed25519, or ECDSA P-256)\n' +
    'signs checkpoints; --origin is the host name clients reach the log by. With --witness-policy, each\n' +
    'checkpoint is sent to the witnesses (C2SP tlog-witness) and published with their cosignatures\n' +
    'once the quorum cosigned; short of it, writes answer 503 unless --witness-fail-open.\n' +
    'With --storage postgres://…, several processes (on several hosts, each with the same --key by\n' +
    'reference) may serve one log: one sequences writes (a PostgreSQL advisory lock), the others serve\n' +
    'reads, answer writes 503 E_NOT_SEQUENCER, and take over within about a second when it stops.\n' +
    'See docs/log.md.',
  flags: {
    data: {
      type: 'string',
      value: 'DIR',
      description: 'Where the log keeps its database, last signed checkpoint and public key',
    },
    storage: {
      type: 'string',
      value: 'URL',
      description:
        'postgres://USER@HOST:PORT/DB[?sslmode=verify-full&sslrootcert=FILE]: keep entries, tiles and ' +
        'checkpoints in PostgreSQL, shared with standbys (password from PGPASSFILE or ~/.pgpass); ' +
        'default: sqlite in --data',
    },
    ...KEY_FLAGS,
    origin: { type: 'string', value: 'NAME', description: "The log's name in checkpoints: the host name of its URL" },
    listen: { type: 'string', value: 'HOST:PORT', description: 'Address to serve on', default: '127.0.0.1:3000' },
    workers: { type: 'string', value: 'N', description: 'Signature-checking worker threads (default: CPU count)' },
    'max-batch': { type: 'string', value: 'N', description: 'Entries per committed batch at most', default: '1024' },
    'witness-policy': {
      type: 'string',
      value: 'FILE',
      description: 'C2SP tlog-policy: witnesses (with URLs) asked to cosign each checkpoint, and the quorum required',
    },
    'witness-fail-open': {
      type: 'boolean',
      description: 'Publish a checkpoint short of the quorum anyway (Rekor v2 does); default: refuse with 503',
    },
    'witness-timeout': {
      type: 'string',
      value: 'SECONDS',
      description: 'Per-request timeout for each witness',
      default: String(WITNESS_TIMEOUT_MS / 1000),
    },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock key generate --algorithm ed25519 --output-key-prefix log', description: 'The log key (once)' },
    {
      command:
        'airlock log serve --data /var/lib/airlock-log --key log.key --origin rekor.internal --listen 0.0.0.0:3000',
      description: 'Serve the log',
    },
  ],
  run: serve,
};
