// Which of the `log serve` processes sharing one PostgreSQL database sequences its writes. Each holds a
// session of its own (PostgresLogStorage.openSession) and tries a PostgreSQL advisory lock every poll;
// the one that gets it claims the next epoch (every write it makes checks that epoch, so a sequencer
// that lost the lock cannot commit after another took over), checks the log before it signs anything
// (onSequencing), and heartbeats on that session. The lock dies with the session: a process killed or
// stalled past the session's timeouts (idle_session_timeout 10 s) frees it, and a standby takes over
// within one poll. A failed heartbeat, a lost connection or a refused check makes it a standby again,
// refusing writes at once. Design: ../../../shared/design/notes/tlog-postgres-failover.md.
import { hash } from 'node:crypto';
import type pg from 'pg';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import type { PostgresLogStorage } from './postgres-storage.ts';

export type SequencerRole = 'sequencer' | 'standby';

export interface SequencerOptions {
  /** Who this process is, recorded with each epoch it claims (host, pid, URL). */
  readonly holder: string;
  /** How often a standby tries the lock (default 250 ms). */
  readonly pollMs?: number;
  /** How often the sequencer checks its session and epoch (default 1 s). */
  readonly heartbeatMs?: number;
  /** The longest wait between failed takeover attempts (default 5 s): the first retries come a poll or two apart. */
  readonly retryMs?: number;
  /** Runs after the epoch is claimed, before writes are taken: a rejection hands the lock back. */
  readonly onSequencing: (epoch: string) => Promise<void>;
  /** Told when this process stops sequencing, and why. */
  readonly onStandby: (reason: string) => void;
  /** Told when a takeover attempt failed (the process stays a standby and tries again later). */
  readonly onRefused: (err: unknown) => void;
}

/** The lock key of a log: one per schema, since one database may hold several logs. */
export function sequencerLockKey(schema: string): string {
  return hash('sha256', `airlock log sequencer\0${schema}`, 'buffer').readBigInt64BE(0).toString();
}

export class PostgresSequencer {
  readonly #storage: PostgresLogStorage;
  readonly #options: SequencerOptions;
  readonly #key: string;
  #session: pg.Client | undefined;
  #epoch: string | undefined;
  #role: SequencerRole = 'standby';
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Takeover attempts failed in a row: the wait before the next grows from a poll to retryMs. */
  #failures = 0;

  private constructor(storage: PostgresLogStorage, options: SequencerOptions) {
    this.#storage = storage;
    this.#options = options;
    this.#key = sequencerLockKey(storage.schema);
    storage.standBy();
  }

  /** Starts as a standby and makes a first attempt at the lock before it returns. */
  static async start(storage: PostgresLogStorage, options: SequencerOptions): Promise<PostgresSequencer> {
    const sequencer = new PostgresSequencer(storage, options);
    await sequencer.#tick();
    return sequencer;
  }

  get role(): SequencerRole {
    return this.#role;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick();
    }, ms);
  }

  async #tick(): Promise<void> {
    const { pollMs = 250, heartbeatMs = 1000, retryMs = 5000 } = this.#options;
    let next = this.#role === 'sequencer' ? heartbeatMs : pollMs;
    try {
      if (this.#role === 'sequencer') await this.#heartbeat();
      else if (!(await this.#tryTakeOver())) next = pollMs;
      else next = heartbeatMs;
      this.#failures = 0;
    } catch (err) {
      const was = this.#role;
      this.#standDown();
      if (was === 'sequencer') this.#options.onStandby(reason(err));
      else {
        this.#options.onRefused(err);
        // Soon after a blip (a database restarting), seldom while it lasts or the log is refused.
        next = Math.min(retryMs, pollMs * 2 ** ++this.#failures);
      }
    }
    this.#schedule(next);
  }

  async #tryTakeOver(): Promise<boolean> {
    const session = (this.#session ??= await this.#openSession());
    const { rows } = await session.query('SELECT pg_try_advisory_lock($1) AS got, pg_backend_pid() AS pid', [
      this.#key,
    ]);
    const { got, pid } = rows[0] as { got: boolean; pid: number };
    if (!got) return false;
    const epoch = await this.#storage.claimSequencer(this.#options.holder, pid);
    this.#epoch = epoch;
    await this.#options.onSequencing(epoch);
    // Writes only once the checks passed.
    this.#storage.sequenceAs(epoch);
    this.#role = 'sequencer';
    return true;
  }

  async #openSession(): Promise<pg.Client> {
    const session = await this.#storage.openSession(`airlock-log-sequencer ${bounded(this.#options.holder, 40)}`);
    // Noticed at once, not at the next heartbeat: writes stop as soon as the lock may be gone.
    session.on('end', () => {
      if (this.#session !== session) return;
      // A standby's dead session is dropped, not polled again: the next poll opens a new one.
      if (this.#role !== 'sequencer') {
        this.#session = undefined;
        return;
      }
      this.#standDown();
      this.#options.onStandby('its database session ended');
    });
    return session;
  }

  async #heartbeat(): Promise<void> {
    const session = this.#session;
    if (!session) throw new AirlockError('E_UNAVAILABLE', 'the sequencer session is gone');
    const { rows } = await session.query('SELECT epoch, holder FROM sequencer WHERE id = 1');
    const now = rows[0] as { epoch: string; holder: string } | undefined;
    if (now === undefined || String(now.epoch) !== this.#epoch)
      throw new AirlockError(
        'E_NOT_SEQUENCER',
        `another process claimed the sequencer (${bounded(now?.holder ?? 'nobody')})`,
      );
  }

  /** Refuses writes first, then drops the session and with it the lock. */
  #standDown(): void {
    this.#storage.standBy();
    this.#role = 'standby';
    const session = this.#session;
    this.#session = undefined;
    // Not awaited: on a network that swallows packets, ending politely waits for TCP to give up. The
    // server ends the session (and frees the lock) on its own timeouts either way.
    session?.end().catch(() => undefined);
  }

  /** Stops trying; a sequencer hands the lock back (its session ends), so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    this.#standDown();
  }
}

function reason(err: unknown): string {
  return bounded(err instanceof Error ? err.message : String(err), 200);
}
