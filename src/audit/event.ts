// One audit event: a security decision, who made it where, about what, and with which result. Stored
// as RFC 8785 canonical JSON (so its bytes, and therefore its leaf hash, are a function of its content),
// at most one tile entry (64 KiB).
import { json } from '@sigstore/core';
import { AirlockError } from '../errors.ts';
import { MAX_ENTRY_SIZE } from '../log/tiles.ts';
import { boundForRecord, RECORD_LIMITS } from '../text.ts';

export interface AuditSubject {
  /** What it is called: a file path, an image reference, a package, a trust root name. */
  readonly name: string;
  /** sha256:<hex> (or another algorithm:<hex>) when the subject has content. */
  readonly digest?: string;
}

export interface AuditEvent {
  /** Unique per event: the log stores identical bytes once, and two identical decisions in the same millisecond are still two. */
  readonly id?: string;
  readonly time: string;
  /** The OS user who ran the command. */
  readonly actor: string;
  readonly host: string;
  /** airlock and its version. */
  readonly tool: string;
  /** What was decided: sign, verify, transfer.pack, transfer.import, trust.import, … */
  readonly action: string;
  /** ok (the command succeeded), refused (a security verdict said no), failed (could not evaluate). */
  readonly result: 'ok' | 'refused' | 'failed';
  readonly subjects: readonly AuditSubject[];
  /** The error code and message when not ok. */
  readonly reason?: string;
  /** Each check or figure that led to the result. */
  readonly details?: Readonly<Record<string, unknown>>;
}

const RESULTS = new Set(['ok', 'refused', 'failed']);

/**
 * RFC 8785 bytes of a value, through JSON first: canonicalize writes an undefined value as the bare
 * word `undefined` (not JSON), and one such event would make the whole log unreadable.
 */
function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(json.canonicalize(JSON.parse(JSON.stringify(value))), 'utf8');
}

/**
 * The event's bytes. Whatever came from outside is bounded first (strings, list lengths, nesting), so
 * a refusal is always small enough to record: an event that could not be written would be a decision
 * without a record. Should the bounded details still not fit, they are replaced by a note saying so.
 */
export function serializeEvent(event: AuditEvent): Buffer {
  const subjects = event.subjects.slice(0, RECORD_LIMITS.items).map((x) => boundForRecord(x, { string: RECORD_LIMITS.name }) as AuditSubject);
  if (event.subjects.length > RECORD_LIMITS.items) subjects.push({ name: `…and ${event.subjects.length - RECORD_LIMITS.items} more (${event.subjects.length} in all)` });
  const safe = {
    ...(boundForRecord({ ...event, subjects: [] }) as AuditEvent),
    subjects,
    ...(event.reason !== undefined ? { reason: boundForRecord(event.reason, { string: RECORD_LIMITS.reason }) as string } : {}),
  };
  const bytes = canonicalBytes(safe);
  if (bytes.length > MAX_ENTRY_SIZE) {
    const trimmed = { ...safe, details: { truncated: `details were ${bytes.length} bytes; the log keeps up to ${MAX_ENTRY_SIZE}` } };
    return canonicalBytes(trimmed);
  }
  return bytes;
}

export function parseEvent(bytes: Uint8Array, where: string): AuditEvent {
  let doc: Partial<AuditEvent>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<AuditEvent>;
  } catch {
    throw new AirlockError('E_INPUT_MALFORMED', `${where}: not a JSON audit event`);
  }
  const strings = ['time', 'actor', 'host', 'tool', 'action'] as const;
  if (!doc || typeof doc !== 'object' || strings.some((k) => typeof doc[k] !== 'string') || !RESULTS.has(String(doc.result)) || !Array.isArray(doc.subjects)) {
    throw new AirlockError('E_INPUT_MALFORMED', `${where}: not a well-formed audit event`);
  }
  return doc as AuditEvent;
}

/** A decision as domain code reports it; the caller's edge adds time, actor, host and tool. */
export interface AuditRecord {
  readonly action: string;
  readonly result: AuditEvent['result'];
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
