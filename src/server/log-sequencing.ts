// A `log serve` process on shared PostgreSQL storage: a standby that follows the sequencer's commits
// and takes over when it dies, or the sequencer. The lock and epoch live in log/postgres-sequencer.ts;
// this is the service's side: the engine opened in either role, kept current while standing by, and
// checked before it signs anything as the new sequencer (design/notes/tlog-postgres-failover.md).
import { hostname } from 'node:os';
import { AirlockError } from '../errors.ts';
import type { LogEngine } from '../log/engine.ts';
import { PostgresSequencer, type SequencerRole } from '../log/postgres-sequencer.ts';
import type { PostgresLogStorage } from '../log/postgres-storage.ts';
import type { Metrics } from './metrics.ts';

type Log = (event: Readonly<Record<string, unknown>>) => void;

/** How often a standby tries the lock and reads what the sequencer committed. */
export const STANDBY_POLL_MS = 250;

export interface Sequencing {
  role(): SequencerRole;
  /** Who holds the sequencer, as a standby last read it. */
  sequencerHolder(): string | undefined;
  stop(): Promise<void>;
}

export interface SequencingOptions {
  readonly storage: PostgresLogStorage;
  /** host:port asked for, recorded with each epoch this process claims. */
  readonly listen: string;
  readonly metrics: Metrics;
  readonly log: Log;
  /** Opens the engine over `storage` (any role: a standby's reads a snapshot). */
  readonly openEngine: () => Promise<LogEngine>;
  /** After a takeover's checks, before writes are taken (witnessing the checkpoint the new sequencer serves). */
  readonly afterTakeover?: (engine: LogEngine) => Promise<void>;
  /** Settles when the process is told to stop (SIGTERM): a standby waiting for the log gives up then. */
  readonly stopped?: Promise<unknown>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Starts the sequencer election and opens the engine. A standby on a database no sequencer has created
 * a log in yet waits for one (its opening would have to write).
 */
export async function startSequencing(
  options: SequencingOptions,
): Promise<{ engine: LogEngine; sequencing: Sequencing }> {
  const { storage, metrics, log } = options;
  const holder = `${hostname()} pid ${process.pid} ${options.listen}`;
  const state: { engine?: LogEngine; holder?: string; refreshing: boolean; lastError?: string } = { refreshing: false };
  metrics.counter('airlock_log_takeovers_total', 'Times this process took over sequencing.');
  const sequencer = await PostgresSequencer.start(storage, {
    holder,
    pollMs: STANDBY_POLL_MS,
    onSequencing: async (epoch) => {
      // At start the engine opens after this, with the same checks.
      if (state.engine) {
        await state.engine.checkBeforeSequencing();
        await options.afterTakeover?.(state.engine);
      }
      metrics.inc('airlock_log_takeovers_total');
      log({ msg: 'sequencing', epoch, size: state.engine?.size });
    },
    onStandby: (reason) => log({ msg: 'standby', level: 'warn', reason }),
    onRefused: (err) => log({ msg: 'takeover failed', level: 'error', error: message(err) }),
  });
  metrics.gauge('airlock_log_sequencer', '1 while this process sequences the log, 0 while it stands by.', () =>
    sequencer.role === 'sequencer' ? 1 : 0,
  );
  if (sequencer.role === 'standby') log({ msg: 'standby', reason: 'another process sequences the log' });
  try {
    state.engine = await openWhenCreated(options.openEngine, () => sequencer.role, log, options.stopped);
  } catch (err) {
    await sequencer.stop();
    throw err;
  }
  const engine = state.engine;
  // A standby follows the sequencer's commits; a refusal (storage behind or forked) is logged once per
  // change and the process keeps serving what it had.
  const follow = setInterval(() => {
    if (sequencer.role !== 'standby' || state.refreshing) return;
    state.refreshing = true;
    Promise.all([engine.refresh(), storage.sequencer()])
      .then(([, current]) => {
        state.holder = current?.holder;
        state.lastError = undefined;
      })
      .catch((err: unknown) => {
        if (message(err) !== state.lastError) log({ msg: 'follow', level: 'error', error: message(err) });
        state.lastError = message(err);
      })
      .finally(() => {
        state.refreshing = false;
      });
  }, STANDBY_POLL_MS);
  return {
    engine,
    sequencing: {
      role: () => sequencer.role,
      sequencerHolder: () => state.holder,
      async stop() {
        clearInterval(follow);
        await sequencer.stop();
      },
    },
  };
}

async function openWhenCreated(
  open: () => Promise<LogEngine>,
  role: () => SequencerRole,
  log: Log,
  stopped: Promise<unknown> = new Promise(() => undefined),
): Promise<LogEngine> {
  let stop = false;
  void stopped.then(() => {
    stop = true;
  });
  for (let said = false; ; said = true) {
    try {
      return await open();
    } catch (err) {
      if (!(err instanceof AirlockError && err.code === 'E_NOT_SEQUENCER') || role() === 'sequencer') throw err;
      if (!said) log({ msg: 'waiting', reason: 'the database holds no log yet; the sequencer creates it' });
      await Promise.race([new Promise((resolve) => setTimeout(resolve, STANDBY_POLL_MS)), stopped]);
      if (stop)
        throw new AirlockError('E_UNAVAILABLE', 'stopped while waiting for the sequencer to create the log', {
          hint: 'start the log on a database where another log serve sequences, or let this one take the lock',
        });
    }
  }
}
