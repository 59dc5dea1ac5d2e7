// The on-prem transparency log as a running service: the engine over its --data directory, the
// verify workers, the HTTP API on a listening socket. `airlock log serve` runs one until it is told
// to stop; `airlock demo` runs one for the air-gapped side.
import type { Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publicKeyPem } from '../crypto/keys.ts';
import type { Signer } from '../crypto/signer.ts';
import { checkpointSignerFor } from '../log/checkpoint-signer.ts';
import { LogEngine } from '../log/engine.ts';
import { sweepTempFiles } from '../files/atomic-write.ts';
import { smallFileWriter } from '../files/small-file-writer.ts';
import { lastSignedFile } from '../log/last-signed-file.ts';
import { encodeVerifierKey, logIdFor } from '../log/note-keys.ts';
import { SqliteLogStorage } from '../log/sqlite-storage.ts';
import type { PostgresLogStorage } from '../log/postgres-storage.ts';
import type { LogStorage } from '../log/storage.ts';
import type { LastSignedStore } from '../log/engine.ts';
import { newestLastSigned } from '../log/newest-last-signed.ts';
import { type Sequencing, startSequencing } from './log-sequencing.ts';
import { closeServer, listenOn } from './http-io.ts';
import { createLogHandler, registerLogMetrics } from './log-server.ts';
import type { Metrics } from './metrics.ts';
import { VerifyPool } from './verify-pool.ts';

export interface LogServiceOptions {
  /** Holds log.db and the last-signed checkpoint; log.pub and log.vkey are written here too. */
  readonly dir: string;
  readonly origin: string;
  /** The log's checkpoint key; the caller closes it after the service. */
  readonly signer: Signer;
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly workers: number;
  readonly maxBatch?: number;
  /**
   * Opens the log's storage when it is not the sqlite database in `dir`: PostgreSQL, shared with other
   * processes of this log, one of which sequences (log-sequencing.ts). Closed with the service.
   */
  readonly storage?: () => Promise<PostgresLogStorage>;
  /** Cosigns each checkpoint before it is published (see LogEngineOptions.witness). */
  readonly witness?: (checkpoint: string) => Promise<string>;
  readonly metrics: Metrics;
  /** One structured event per request, and the witnessing of the checkpoint at start. */
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  /** Settles when the process is told to stop: a standby still waiting for the log to be created gives up. */
  readonly stopped?: Promise<unknown>;
  /** Told the engine as soon as it is open, before the witnesses are asked (their proofs come from it). */
  readonly onOpen?: (engine: LogEngine) => void;
}

export interface LogService {
  readonly engine: LogEngine;
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** The 32-byte log ID (checkpoint key ID). */
  readonly logId: Buffer;
  /** The C2SP verifier key line clients and witnesses pin. */
  readonly vkey: string;
  /** Whether this process sequences writes now: always, unless it shares PostgreSQL storage with others. */
  role(): 'sequencer' | 'standby';
  /** Stops taking requests, lets queued appends finish, closes storage and the workers. */
  close(): Promise<void>;
}

export async function startLogService(options: LogServiceOptions): Promise<LogService> {
  const { dir, origin, signer, metrics, log, witness } = options;
  // A SIGKILL between a checkpoint's temp file and its rename leaves the temp file: swept before the
  // engine starts writing new ones (only files of writers no longer running).
  await sweepTempFiles(join(dir, 'checkpoint'));
  // The last-signed checkpoint is written once per batch: on a worker, off the serving thread.
  const writer = smallFileWriter();
  const opened = await openLog(options, writer).catch(async (err: unknown) => {
    await writer.close();
    throw err;
  });
  const { engine, sequencing } = opened;
  let pool: VerifyPool | undefined;
  try {
    options.onOpen?.(engine);
    // Batches only commit after the server starts, so registering after open misses nothing.
    registerLogMetrics(metrics, () => engine);
    const logId = logIdFor(origin, signer.publicKey);
    const vkey = encodeVerifierKey(origin, signer.publicKey);
    // Public material an operator hands to `trust create`, witnesses and auditors.
    await writeFile(join(dir, 'log.pub'), publicKeyPem(signer.publicKey));
    await writeFile(join(dir, 'log.vkey'), `${vkey}\n`);
    pool = new VerifyPool(options.workers);
    await pool.ready();
    // A log that restarts with entries publishes its checkpoint witnessed, not only at the next write.
    if (witness) await witnessAtStart(engine, log);
    const { server, url, port } = await listenOn(
      createLogHandler({ engine, logId, pool, metrics, log, ...(sequencing ? { sequencing } : {}) }),
      options.host,
      options.port,
    );
    const workers = pool;
    return {
      engine,
      server,
      url,
      port,
      logId,
      vkey,
      role: () => sequencing?.role() ?? 'sequencer',
      async close() {
        await closeServer(server);
        // A standby stops following first (it would read through the pool engine.close ends); a
        // sequencer hands the lock back after its queued appends, and a standby takes over at once.
        if (sequencing?.role() === 'standby') await sequencing.stop();
        await engine.close();
        await sequencing?.stop();
        await workers.close();
        await writer.close();
      },
    };
  } catch (err) {
    await engine.close();
    await sequencing?.stop();
    await pool?.close();
    await writer.close();
    throw err;
  }
}

/**
 * The engine over the sqlite database in `dir`, or over shared PostgreSQL storage with this process
 * standing by or sequencing. Storage opened and the engine refused is closed again.
 */
async function openLog(
  options: LogServiceOptions,
  writer: ReturnType<typeof smallFileWriter>,
): Promise<{ engine: LogEngine; sequencing?: Sequencing }> {
  const { dir, origin, signer, metrics, log, witness } = options;
  const checkpoints = checkpointSignerFor(origin, signer);
  const localRecord = lastSignedFile(join(dir, 'checkpoint'), (path, data) => writer.write(path, data));
  const openEngine = (storage: LogStorage, lastSigned: LastSignedStore) =>
    LogEngine.open({
      storage,
      checkpoints,
      lastSigned,
      ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
      ...(witness ? { witness } : {}),
      onBatch: (b) => {
        metrics.observe('airlock_log_batch_size', b.appended + b.duplicates);
        metrics.observe('airlock_log_batch_seconds', b.ms / 1000);
      },
    });
  let storage: LogStorage | undefined;
  try {
    if (!options.storage) {
      storage = SqliteLogStorage.open(join(dir, 'log.db'));
      return { engine: await openEngine(storage, localRecord) };
    }
    const shared = await options.storage();
    storage = shared;
    const sizeOf = (note: string) => checkpoints.open(note).size;
    // The database's record is every host's; the file is what this host saw.
    const lastSigned = newestLastSigned([shared.lastSignedStore(sizeOf), localRecord], sizeOf);
    return await startSequencing({
      storage: shared,
      listen: `${options.host}:${options.port}`,
      metrics,
      log,
      openEngine: () => openEngine(shared, lastSigned),
      ...(options.stopped ? { stopped: options.stopped } : {}),
      ...(witness ? { afterTakeover: (engine: LogEngine) => witnessAtStart(engine, log) } : {}),
    });
  } catch (err) {
    // A PostgreSQL pool left open would keep the process alive after the refusal.
    await storage?.close().catch(() => undefined);
    throw err;
  }
}

async function witnessAtStart(engine: LogEngine, log: LogServiceOptions['log']): Promise<void> {
  await engine
    .witnessLatest()
    .catch((err: unknown) => log({ msg: 'witness', level: 'error', error: (err as Error).message, size: engine.size }));
}
