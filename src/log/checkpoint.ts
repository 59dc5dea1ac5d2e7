// C2SP tlog-checkpoint v1.0.0 (https://c2sp.org/tlog-checkpoint@v1.0.0): the signed-note text a log
// signs over its tree head — origin, tree size, base64 root hash, optional extension lines.
// design/notes/tlog-anchors.md §1.2.
import { AirlockError } from '../errors.ts';
import { EMPTY_ROOT } from './merkle.ts';
import { checkNoteText, decodeBase64, isValidKeyName, type NoteVerifier, openNote, type OpenedNote } from './note.ts';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** The RFC 6962 root, 32 bytes. */
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

export { EMPTY_ROOT };

// sigstore-go takes a checkpoint whose origin ends like this for a Rekor v1 one and checks it the v1
// way (tlog-anchors.md §1.2).
const REKOR_V1_ORIGIN = / - [0-9]+$/;
const SIZE = /^(?:0|[1-9][0-9]*)$/;

const bad = (reason: string) => new AirlockError('E_TLOG_CHECKPOINT', `malformed checkpoint: ${reason}`);

function checkCheckpoint(cp: Checkpoint): void {
  // The spec only recommends a space- and '+'-free origin; the log's key name must equal it, and key
  // names may hold neither, so a checkpoint we can verify has such an origin anyway.
  if (typeof cp.origin !== 'string' || !isValidKeyName(cp.origin))
    throw bad(`origin '${String(cp.origin).slice(0, 60)}' is empty or has a space, '+' or control character`);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0)
    throw bad(`tree size ${cp.size} is not a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== 32)
    throw bad(`the root hash is ${cp.rootHash?.length} bytes, not 32`);
  // A witness answers 422 to this (tlog-witness): no log has an empty tree with another root.
  if (cp.size === 0 && !Buffer.from(cp.rootHash).equals(EMPTY_ROOT))
    throw bad('tree size 0 with a root other than SHA-256("")');
  for (const line of cp.extensions) {
    if (typeof line !== 'string' || line === '' || line.includes('\n'))
      throw bad('an extension line is empty or holds a newline');
  }
}

/** The note text of `cp`, byte for byte as Go's log.Checkpoint.Marshal writes it. */
export function formatCheckpoint(cp: Checkpoint): string {
  if (REKOR_V1_ORIGIN.test(cp.origin)) {
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `checkpoint origin '${cp.origin}' ends in ' - <digits>': sigstore-go would read the checkpoint as Rekor v1's`,
      {
        hint: 'use the log host name as origin',
      },
    );
  }
  checkCheckpoint(cp);
  const text =
    `${cp.origin}\n${cp.size}\n${Buffer.from(cp.rootHash).toString('base64')}` +
    `\n${cp.extensions.map((e) => `${e}\n`).join('')}`;
  checkNoteText(text);
  return text;
}

/** Reads a checkpoint body (the note text); the signature is openCheckpoint's business. */
export function parseCheckpoint(text: string): Checkpoint {
  checkNoteText(text);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad(`${lines.length} lines; origin, tree size and root hash are needed`);
  const [origin = '', size = '', root = '', ...extensions] = lines;
  // The length bound keeps Number() from rounding: 16 digits may still exceed 2^53 - 1, checked below.
  if (!SIZE.test(size) || size.length > 16)
    throw bad(`tree size '${size.slice(0, 30)}' is not a decimal number without leading zeros`);
  const rootHash = decodeBase64(root);
  if (!rootHash) throw bad('the root hash is not base64');
  const checkpoint: Checkpoint = { origin, size: Number(size), rootHash: new Uint8Array(rootHash), extensions };
  checkCheckpoint(checkpoint);
  return checkpoint;
}

/**
 * Opens a checkpoint note signed by the log: the log's signature must verify (others are ignored) and
 * the origin line must be the log's key name, so a log's key cannot vouch for another log's tree.
 */
export function openCheckpoint(
  note: Uint8Array | string,
  logVerifier: NoteVerifier,
): { checkpoint: Checkpoint; note: OpenedNote } {
  const opened = openNote(note, [logVerifier]);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== logVerifier.name) {
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `the checkpoint is for origin '${checkpoint.origin}', not for the log '${logVerifier.name}' whose key signed it`,
    );
  }
  return { checkpoint, note: opened };
}
