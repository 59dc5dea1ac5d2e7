// One audit event: a security decision, who made it where, about what, and with which result. Stored
// as RFC 8785 canonical JSON (so its bytes, and therefore its leaf hash, are a function of its content),
// at most one tile entry (64 KiB).
import { json } from '@sigstore/core';
import { AirlockError } from '../errors.ts';
import type { AuditRecord, AuditSubject } from '../recorder.ts';
import { MAX_ENTRY_SIZE } from '../log/tiles.ts';
import { boundForRecord, RECORD_LIMITS } from '../text.ts';

export type { AuditRecord, AuditSubject, Recorder } from '../recorder.ts';

export interface AuditEvent {
  /**
   * Unique per event: the log stores identical bytes once, and two identical decisions in the same millisecond are
   * still two.
   */
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
  readonly result: AuditRecord['result'];
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
  const subjects = event.subjects
    .slice(0, RECORD_LIMITS.items)
    .map((x) => boundForRecord(x, { string: RECORD_LIMITS.name }) as AuditSubject);
  if (event.subjects.length > RECORD_LIMITS.items)
    subjects.push({
      name: `…and ${event.subjects.length - RECORD_LIMITS.items} more (${event.subjects.length} in all)`,
    });
  const safe = {
    ...(boundForRecord({ ...event, subjects: [] }) as AuditEvent),
    subjects,
    ...(event.reason !== undefined
      ? { reason: boundForRecord(event.reason, { string: RECORD_LIMITS.reason }) as string }
      : {}),
  };
  const bytes = canonicalBytes(safe);
  if (bytes.length > MAX_ENTRY_SIZE) {
    const trimmed = {
      ...safe,
      details: { truncated: `details were ${bytes.length} bytes; the log keeps up to ${MAX_ENTRY_SIZE}` },
    };
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
  if (
    !doc ||
    typeof doc !== 'object' ||
    strings.some((k) => typeof doc[k] !== 'string') ||
    !RESULTS.has(String(doc.result)) ||
    !Array.isArray(doc.subjects)
  ) {
    throw new AirlockError('E_INPUT_MALFORMED', `${where}: not a well-formed audit event`);
  }
  return doc as AuditEvent;
}
