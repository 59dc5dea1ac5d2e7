// `airlock log serve`: the on-prem transparency log (Rekor v2 write API, C2SP tlog-tiles reads).
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSigner } from '../../crypto/key-ref.ts';
import { publicKeyPem } from '../../crypto/keys.ts';
import { AirlockError } from '../../errors.ts';
import { checkpointSignerFor } from '../../log/checkpoint-signer.ts';
import { LogEngine } from '../../log/engine.ts';
import { lastSignedFile } from '../../log/last-signed-file.ts';
import { encodeVerifierKey, logIdFor } from '../../log/note-keys.ts';
import { SqliteLogStorage } from '../../log/sqlite-storage.ts';
import { createLogHandler, registerLogMetrics } from '../../server/log-server.ts';
import { Metrics } from '../../server/metrics.ts';
import { VerifyPool } from '../../server/verify-pool.ts';
import type { Command, CommandContext } from '../command.ts';
import { KEY_FLAGS } from '../flag-groups.ts';
import { keyContext } from '../key-context.ts';

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-f:]+\]|[^:]*):)?(\d{1,5})$/i.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new AirlockError('E_USAGE', `--listen must be HOST:PORT or PORT, got '${text}'`);
  return { host: (m[1] || '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** Resolves when the process is asked to stop; the only place the log touches signals. */
function untilStopped(): Promise<string> {
  return new Promise((done) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done(signal));
  });
}

async function serve(ctx: CommandContext) {
  const { flags, out } = ctx;
  const data = flags.string('data');
  const keyRef = flags.string('key');
  const origin = flags.string('origin');
  if (!data || !keyRef || !origin) throw new AirlockError('E_USAGE', 'airlock log serve needs --data DIR, --key REF and --origin NAME');
  if (/[:/\s+]/.test(origin)) {
    throw new AirlockError('E_USAGE', `--origin must be the log URL's host name alone (no scheme, port or path), got '${origin}'`, {
      hint: 'Sigstore clients match the checkpoint name against the trusted root\'s baseUrl host, e.g. --origin rekor.internal',
    });
  }
  const { host, port } = parseListen(flags.string('listen') ?? '127.0.0.1:3000');
  const dir = resolve(ctx.cwd, data);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const signer = await loadSigner(keyRef, keyContext(ctx, { passwordFile: flags.string('password-file') }));
  const metrics = new Metrics();
  const engine = await LogEngine.open({
    storage: SqliteLogStorage.open(join(dir, 'log.db')),
    checkpoints: checkpointSignerFor(origin, signer),
    lastSigned: lastSignedFile(join(dir, 'checkpoint')),
    maxBatch: flags.int('max-batch', 1024, 1, 65536),
    onBatch: (b) => {
      metrics.observe('airlock_log_batch_size', b.appended + b.duplicates);
      metrics.observe('airlock_log_batch_seconds', b.ms / 1000);
    },
  });
  // Batches only commit after the server starts, so registering after open misses nothing.
  registerLogMetrics(metrics, () => engine);
  const logId = logIdFor(origin, signer.publicKey);
  const vkey = encodeVerifierKey(origin, signer.publicKey);
  // Public material an operator hands to `trust create`, witnesses and auditors.
  await writeFile(join(dir, 'log.pub'), publicKeyPem(signer.publicKey));
  await writeFile(join(dir, 'log.vkey'), `${vkey}\n`);
  const pool = new VerifyPool(flags.int('workers', availableParallelism(), 1, 64));
  const log = (event: Readonly<Record<string, unknown>>) => ctx.io.stdout.write(`${JSON.stringify({ time: ctx.now().toISOString(), level: 'info', ...event })}\n`);
  const server = createServer(createLogHandler({ engine, logId, pool, metrics, log }));
  server.requestTimeout = 30_000;
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => fail(new AirlockError('E_UNAVAILABLE', `cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, ok);
  });
  const address = server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof address === 'object' && address ? address.port : port}`;
  log({ msg: 'serving', url, origin, size: engine.size, logId: logId.toString('base64'), vkey });
  out.info(`Log ${origin} serving at ${url} (size ${engine.size}); data in ${dir}`);
  out.info(`  log ID    ${logId.toString('base64')}`);
  out.info(`  vkey      ${vkey}`);
  out.info(`  trust it  airlock trust create --rekor="url=http://${origin}:${port},public-key=${join(dir, 'log.pub')},start-time=${ctx.now().toISOString().slice(0, 19)}Z,origin=${origin}"`);
  const signal = await untilStopped();
  log({ msg: 'stopping', signal });
  await new Promise<void>((ok) => server.close(() => ok()));
  await engine.close();
  await pool.close();
  return { json: { url, origin, size: engine.size } };
}

export const logServeCommand: Command = {
  name: 'log serve',
  summary: 'Run the on-prem transparency log (Rekor v2 API, C2SP tlog-tiles reads)',
  usage: '--data DIR --key REF --origin NAME [--listen HOST:PORT]',
  description:
    'Accepts Rekor v2 hashedrekord v0.0.2 entries at POST /api/v2/log/entries, verifies each signature,\n' +
    'and answers with the TransparencyLogEntry (inclusion proof + signed checkpoint) that goes into a\n' +
    'Sigstore bundle. Reads: /checkpoint, /tile/L/N[.p/W], /tile/entries/N[.p/W] (also under /api/v2/),\n' +
    '/healthz, /metrics. Requests are logged as JSON lines on stdout. The key (Ed25519, or ECDSA P-256)\n' +
    'signs checkpoints; --origin is the host name clients reach the log by. See docs/log.md.',
  flags: {
    data: { type: 'string', value: 'DIR', description: 'Where the log keeps its database, last signed checkpoint and public key' },
    key: KEY_FLAGS.key,
    'password-file': KEY_FLAGS['password-file'],
    origin: { type: 'string', value: 'NAME', description: "The log's name in checkpoints: the host name of its URL" },
    listen: { type: 'string', value: 'HOST:PORT', description: 'Address to serve on', default: '127.0.0.1:3000' },
    workers: { type: 'string', value: 'N', description: 'Signature-checking worker threads (default: CPU count)' },
    'max-batch': { type: 'string', value: 'N', description: 'Entries per committed batch at most', default: '1024' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock key generate --algorithm ed25519 --output-key-prefix log', description: 'The log key (once)' },
    { command: 'airlock log serve --data /var/lib/airlock-log --key log.key --origin rekor.internal --listen 0.0.0.0:3000', description: 'Serve the log' },
  ],
  run: serve,
};
