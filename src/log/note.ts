// C2SP signed-note v1.0.0 (https://c2sp.org/signed-note@v1.0.0): a text, one blank line, then lines
// "— <key name> <base64(key ID ‖ signature)>". Witnesses, Rekor v2 clients and Tessera all read notes
// with golang.org/x/mod/sumdb/note, so parsing follows its note.Open rule for rule; where this module is
// stricter (canonical base64, every known-key signature verified) the comment says so.
// Summary: design/notes/tlog-anchors.md §1.1.
import { AirlockError } from '../errors.ts';

/** U+2014 EM DASH and a space: the start of every signature line (§Format). */
const SIGNATURE_PREFIX = '\u2014 ';
/** The spec asks for at least 16; Go's note.Open gives up after 100, and so do we. */
export const MAX_SIGNATURES = 100;
/** A checkpoint is a few hundred bytes, a post-quantum signature line ~5 kB: 1 MiB leaves room for both. */
export const MAX_NOTE_BYTES = 1 << 20;

export interface NoteSignature {
  readonly name: string;
  /** uint32, big-endian on the wire. */
  readonly keyId: number;
  readonly signature: Uint8Array;
}

export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** Signs the note text (UTF-8 bytes); the signature type decides how. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface OpenedNote {
  readonly text: string;
  /** Signatures of known keys, all verified; one per (name, key ID). */
  readonly verified: readonly NoteSignature[];
  /** Signatures of keys not given: ignored, as the spec requires, but kept for re-serialising. */
  readonly unverified: readonly NoteSignature[];
}

const malformed = (reason: string) => new AirlockError('E_TLOG_CHECKPOINT', `malformed signed note: ${reason}`);

export const keyIdHex = (keyId: number): string => keyId.toString(16).padStart(8, '0');

const keyLabel = (name: string, keyId: number) => `${name}+${keyIdHex(keyId)}`;

/** The offset of the first character below U+0020 other than `\n`, or -1. DEL and C1 pass, as in Go. */
function controlCharAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return i;
  }
  return -1;
}

// Go's isValidName: non-empty, no unicode.IsSpace (= the White_Space property, which holds `\n`), no
// '+'. Other controls cannot occur in a parsed note; refusing them keeps signers from writing one.
export function isValidKeyName(name: string): boolean {
  return name !== '' && name.isWellFormed() && !/[\p{White_Space}+]/u.test(name) && controlCharAt(name) < 0;
}

/** Note text rules (§Format): valid UTF-8, `\n` the only control character, ends in `\n`. */
export function checkNoteText(text: string): void {
  if (!text.isWellFormed()) throw malformed('the text is not valid UTF-8');
  const at = controlCharAt(text);
  if (at >= 0)
    throw malformed(`control character U+${text.charCodeAt(at).toString(16).padStart(4, '0')} at offset ${at}`);
  if (!text.endsWith('\n')) throw malformed('the text does not end in a newline');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * RFC 4648 §4 base64, padded. Stricter than Go's StdEncoding, which ignores non-zero padding bits:
 * only the canonical spelling decodes, so whatever parses serialises back to the same bytes.
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeNote(input: Uint8Array | string): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > MAX_NOTE_BYTES) throw malformed(`${size} bytes, more than the ${MAX_NOTE_BYTES} accepted`);
  if (typeof input === 'string') return input;
  try {
    // ignoreBOM: a leading U+FEFF is text, not something to drop silently.
    return utf8.decode(input);
  } catch (err) {
    throw new AirlockError('E_TLOG_CHECKPOINT', 'malformed signed note: not valid UTF-8', { cause: err });
  }
}

/** One signature line without its newline. */
export function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX))
    throw malformed(`signature line '${line.slice(0, 40)}' does not start with an em dash and a space`);
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  if (!isValidKeyName(name))
    throw malformed(`signature line key name '${name.slice(0, 40)}' is empty or has a space or '+'`);
  const blob = space < 0 ? undefined : decodeBase64(rest.slice(space + 1));
  if (!blob) throw malformed(`the signature of ${name} is not base64`);
  if (blob.length < 5)
    throw malformed(
      `the signature of ${name} is ${blob.length} bytes: a key ID and at least one signature byte are needed`,
    );
  return { name, keyId: blob.readUInt32BE(0), signature: new Uint8Array(blob.subarray(4)) };
}

/** Splits a note at its last empty line (§Format) and parses the signature lines; verifies nothing. */
export function parseNote(input: Uint8Array | string): Note {
  const note = decodeNote(input);
  // Go checks the whole note, signature lines included.
  checkNoteText(note);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no empty line before the signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1);
  if (lines === '') throw malformed('no signature line');
  const signatureLines = lines.split('\n');
  if (signatureLines.length > MAX_SIGNATURES)
    throw malformed(`${signatureLines.length} signature lines, more than the ${MAX_SIGNATURES} accepted`);
  return { text, signatures: signatureLines.map(parseSignatureLine) };
}

/** `— <name> <base64(key ID ‖ signature)>\n` */
export function formatSignatureLine(signature: NoteSignature): string {
  const { name, keyId } = signature;
  if (!isValidKeyName(name)) throw malformed(`key name '${name}' is empty or has a space, '+' or control character`);
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff)
    throw malformed(`key ID ${keyId} of ${name} is not a uint32`);
  if (signature.signature.length === 0) throw malformed(`the signature of ${name} is empty`);
  const blob = Buffer.alloc(4 + signature.signature.length);
  blob.writeUInt32BE(keyId, 0);
  blob.set(signature.signature, 4);
  return `${SIGNATURE_PREFIX}${name} ${blob.toString('base64')}\n`;
}

/** The note's exact bytes: text, empty line, one line per signature in the order given. */
export function serializeNote(text: string, signatures: readonly NoteSignature[]): string {
  checkNoteText(text);
  if (signatures.length === 0) throw malformed('a note needs at least one signature');
  if (signatures.length > MAX_SIGNATURES)
    throw malformed(`${signatures.length} signatures, more than the ${MAX_SIGNATURES} a reader accepts`);
  const note = `${text}\n${signatures.map(formatSignatureLine).join('')}`;
  const size = Buffer.byteLength(note, 'utf8');
  if (size > MAX_NOTE_BYTES) throw malformed(`${size} bytes, more than the ${MAX_NOTE_BYTES} a reader accepts`);
  return note;
}

/** Signs `text` with every signer, in order. */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  checkNoteText(text);
  if (signers.length === 0) throw new AirlockError('E_USAGE', 'signing a note needs at least one signer');
  const seen = new Set<string>();
  const message = Buffer.from(text, 'utf8');
  const signatures: NoteSignature[] = [];
  // One at a time: a PKCS#11 session signs one thing at once.
  for (const signer of signers) {
    const label = keyLabel(signer.name, signer.keyId);
    if (seen.has(label)) throw new AirlockError('E_USAGE', `the note signer ${label} is given twice`);
    seen.add(label);
    signatures.push({ name: signer.name, keyId: signer.keyId, signature: await signer.sign(message) });
  }
  return serializeNote(text, signatures);
}

function indexVerifiers<V extends NoteVerifier>(verifiers: readonly V[]): Map<string, V> {
  const byLabel = new Map<string, V>();
  for (const verifier of verifiers) {
    const label = keyLabel(verifier.name, verifier.keyId);
    const other = byLabel.get(label);
    // Go's VerifierList calls this an ambiguous key: which of the two should a signature answer to?
    if (other !== undefined && other !== verifier) {
      throw new AirlockError(
        'E_USAGE',
        `two trusted keys are both named ${label}: a signature could not tell them apart`,
        {
          hint: 'give each key once',
        },
      );
    }
    byLabel.set(label, verifier);
  }
  return byLabel;
}

/**
 * The verifier rules of §Signatures: a signature whose (name, key ID) is unknown is ignored; one that
 * names a known key must verify or the whole note is refused. Go's note.Open skips a repeated line of a
 * key it already verified; this verifies every one, so a bad repeat refuses the note (the spec's SHOULD).
 * Returns the verified signatures, which may be none: the caller decides how many it needs.
 */
export function verifyNoteSignatures<V extends NoteVerifier>(
  note: Note,
  verifiers: readonly V[],
): { verified: Array<NoteSignature & { verifier: V }>; unverified: NoteSignature[] } {
  const known = indexVerifiers(verifiers);
  const message = Buffer.from(note.text, 'utf8');
  const verified: Array<NoteSignature & { verifier: V }> = [];
  const unverified: NoteSignature[] = [];
  for (const signature of note.signatures) {
    const label = keyLabel(signature.name, signature.keyId);
    const verifier = known.get(label);
    if (verifier === undefined) {
      unverified.push(signature);
      continue;
    }
    let ok = false;
    try {
      ok = verifier.verify(message, signature.signature);
    } catch {
      // A verifier that throws has not verified anything.
    }
    if (!ok) {
      throw new AirlockError(
        'E_TLOG_CHECKPOINT',
        `the signature of trusted key ${label} does not verify: the note was altered or not signed by that key`,
      );
    }
    if (!verified.some((v) => v.verifier === verifier)) verified.push({ ...signature, verifier });
  }
  return { verified, unverified };
}

/** Parses a note and checks it is signed by at least one of `verifiers` (and by none of them wrongly). */
export function openNote(input: Uint8Array | string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const note = parseNote(input);
  const { verified, unverified } = verifyNoteSignatures(note, verifiers);
  if (verified.length === 0) {
    const signedBy = note.signatures.map((s) => keyLabel(s.name, s.keyId)).join(', ');
    const trusted = verifiers.map((v) => keyLabel(v.name, v.keyId)).join(', ') || 'none';
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `the note has no signature by a trusted key: signed by ${signedBy}; trusted: ${trusted}`,
      {
        details: {
          signedBy: note.signatures.map((s) => keyLabel(s.name, s.keyId)),
          trusted: verifiers.map((v) => keyLabel(v.name, v.keyId)),
        },
      },
    );
  }
  return {
    text: note.text,
    verified: verified.map(({ name, keyId, signature }) => ({ name, keyId, signature })),
    unverified,
  };
}
