// Where domain code records its decisions (an import, a trust install, a cosignature) and the intents
// that must be durable before an effect (write-ahead). An interface at the bottom layer, so every domain
// — the log's witness included — can take a recorder without depending on the audit trail that
// implements it (audit/, above log/).
import { AirlockError } from './errors.ts';

export interface AuditSubject {
  /** What it is called: a file path, an image reference, a package, a trust root name. */
  readonly name: string;
  /** sha256:<hex> (or another algorithm:<hex>) when the subject has content. */
  readonly digest?: string;
}

/** A decision as domain code reports it; the caller's edge adds time, actor, host and tool. */
export interface AuditRecord {
  readonly action: string;
  /** ok (the command succeeded), refused (a security verdict said no), failed (could not evaluate). */
  readonly result: 'ok' | 'refused' | 'failed';
  readonly subjects?: readonly AuditSubject[];
  readonly reason?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Where domain code records its decisions (import each package, install each trust root). */
export type Recorder = (record: AuditRecord) => Promise<void>;

/**
 * Records `record` before the effect it names (write-ahead). If it cannot be recorded, the effect must
 * not happen: the failure becomes E_IO saying so, whatever the audit log's own error was (a damaged
 * log is no verdict about what was being done).
 */
export async function recordBeforeEffect(recorder: Recorder, record: AuditRecord, effect: string): Promise<void> {
  try {
    await recorder(record);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new AirlockError('E_IO', `${effect} did not happen: its audit record could not be written first (${why})`, {
      cause: err,
      hint: 'airlock audit verify says what is wrong with the audit trail; nothing changed',
    });
  }
}
