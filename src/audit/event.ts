// One audit event: a security decision, who made it where, about what, and with which result. Stored
// as RFC 8785 canonical JSON (so its bytes, and therefore its leaf hash, are a function of its content),
// at most one tile entry (64 KiB).
import { json } from '@sigstore/core';
import { AirlockError } from '../errors.ts';
import { MAX_ENTRY_SIZE } from '../log/tiles.ts';

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

export function serializeEvent(event: AuditEvent): Buffer {
  const bytes = canonicalBytes(event);
  if (bytes.length > MAX_ENTRY_SIZE) {
    // Details are the part that grows (a long list of images): keep the decision, say what was cut.
    const trimmed = { ...event, details: { truncated: `details were ${bytes.length} bytes; the log keeps up to ${MAX_ENTRY_SIZE}` } };
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
