// C2SP tlog-cosignature v1.0.1, Ed25519 only (https://c2sp.org/tlog-cosignature@v1.0.1): a witness's
// signature line on a checkpoint, meaning "as of time T this is the largest consistent tree I have seen
// for this origin". Signature type 0x04; the blob is uint64 BE seconds ‖ Ed25519 signature over
// "cosignature/v1\ntime <T>\n" ‖ the checkpoint text. ML-DSA-44 (0x06) is not supported yet.
// design/notes/tlog-anchors.md §1.7, §4.3.
import { type KeyObject, verify } from 'node:crypto';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { parseCheckpoint } from './checkpoint.ts';
import {
  formatSignatureLine,
  isValidKeyName,
  keyIdHex,
  type NoteVerifier,
  parseNote,
  parseSignatureLine,
  verifyNoteSignatures,
} from './note.ts';
import {
  checkVerifierKeyId,
  ed25519KeyFromRaw,
  namedKeyHash,
  publicHalf,
  SIGNATURE_TYPE,
  splitVerifierKey,
  usableEd25519Key,
  type VerifierKey,
} from './note-keys.ts';

const TIMESTAMP_BYTES = 8;
const BLOB_BYTES = TIMESTAMP_BYTES + 64;
/** The last second a Date can hold. The spec allows up to 2^63 - 1; no witness clock gets near either. */
const MAX_SECONDS = 8_640_000_000_000n;

export interface CosignatureVerifier extends NoteVerifier {
  /** Marks a witness key, so a log key given by mistake is never counted as a witness. */
  readonly kind: 'cosignature/v1';
  readonly publicKey: KeyObject;
  /** Verifies one cosignature line (newline optional) over a checkpoint text; returns the time it states. */
  verifyLine(text: string, line: string): Date;
}

export interface CosignerKey extends Omit<VerifierKey, 'verifier'> {
  readonly verifier: CosignatureVerifier;
}

function signedMessage(seconds: bigint, text: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`cosignature/v1\ntime ${seconds}\n`), text]);
}

const secondsOf = (blob: Uint8Array): bigint =>
  Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).readBigUInt64BE(0);

/** When a witness says it cosigned: the timestamp at the front of a cosignature/v1 signature blob. */
export const cosignatureTime = (blob: Uint8Array): Date => new Date(Number(secondsOf(blob)) * 1000);

const cosignerKeyId = (name: string, raw: Uint8Array): number =>
  namedKeyHash(name, SIGNATURE_TYPE.cosignatureV1, raw).readUInt32BE(0);

export function cosignatureVerifierFor(name: string, publicKey: KeyObject): CosignatureVerifier {
  if (!isValidKeyName(name))
    throw new AirlockError(
      'E_USAGE',
      `cosigner '${name}' is not a signed-note key name (non-empty, no spaces, no '+')`,
    );
  const key = publicHalf(publicKey);
  const keyId = cosignerKeyId(name, usableEd25519Key(key, `cosigner ${name}`));
  const label = `${name}+${keyIdHex(keyId)}`;
  const verifier: CosignatureVerifier = {
    kind: 'cosignature/v1',
    name,
    keyId,
    publicKey: key,
    verify(message, signature) {
      if (signature.length !== BLOB_BYTES) return false;
      const seconds = secondsOf(signature);
      if (seconds > MAX_SECONDS) return false;
      try {
        return verify(null, signedMessage(seconds, message), key, signature.subarray(TIMESTAMP_BYTES));
      } catch {
        return false;
      }
    },
    verifyLine(text, line) {
      parseCheckpoint(text);
      const signature = parseSignatureLine(line.endsWith('\n') ? line.slice(0, -1) : line);
      if (signature.name !== name || signature.keyId !== keyId) {
        throw new AirlockError(
          'E_TLOG_CHECKPOINT',
          `the cosignature is by ${signature.name}+${keyIdHex(signature.keyId)}, not by ${label}`,
        );
      }
      if (!verifier.verify(Buffer.from(text, 'utf8'), signature.signature)) {
        throw new AirlockError('E_TLOG_CHECKPOINT', `the cosignature of ${label} does not verify over this checkpoint`);
      }
      return new Date(Number(secondsOf(signature.signature)) * 1000);
    },
  };
  return verifier;
}

/** Cosigns a checkpoint text at `time` (whole seconds); returns the signature line, newline included. */
export async function cosignCheckpoint(text: string, name: string, signer: Signer, time: Date): Promise<string> {
  parseCheckpoint(text);
  if (signer.algorithm !== 'ed25519') {
    throw new AirlockError(
      'E_KEY_UNSUPPORTED',
      `cosigner ${name}: ${signer.description} signs with ${signer.algorithm}; cosignature/v1 is Ed25519 only`,
    );
  }
  const verifier = cosignatureVerifierFor(name, signer.publicKey);
  const ms = time.getTime();
  if (!Number.isFinite(ms) || ms < 0)
    throw new AirlockError('E_USAGE', `cosignature time ${String(time)} is not a date after 1970`);
  const seconds = BigInt(Math.floor(ms / 1000));
  const message = Buffer.from(text, 'utf8');
  const blob = Buffer.alloc(BLOB_BYTES);
  blob.writeBigUInt64BE(seconds, 0);
  const signature = await signer.sign(signedMessage(seconds, message));
  // Same reason as noteSignerFor: a faulty token must not hand out a cosignature nobody can check.
  if (signature.length === 64) blob.set(signature, TIMESTAMP_BYTES);
  if (signature.length !== 64 || !verifier.verify(message, blob)) {
    throw new AirlockError(
      'E_SIGNATURE_INVALID',
      `cosigner ${name}: ${signer.description} made a signature its own public key does not verify`,
    );
  }
  return formatSignatureLine({ name, keyId: verifier.keyId, signature: blob });
}

export function encodeCosignerKey(name: string, publicKey: KeyObject): string {
  const verifier = cosignatureVerifierFor(name, publicKey);
  const body = Buffer.concat([
    Uint8Array.of(SIGNATURE_TYPE.cosignatureV1),
    usableEd25519Key(verifier.publicKey, `cosigner ${name}`),
  ]);
  return `${name}+${keyIdHex(verifier.keyId)}+${body.toString('base64')}`;
}

/**
 * A witness vkey: type 0x04, or 0x01 as omniwitness publishes them. transparency-dev/formats and
 * Tessera take either and derive the key ID with 0x04 without reading the stated one; here the stated
 * ID must be the one of the stated type, and the verifier answers to the 0x04 ID (`keyId`).
 */
export function parseCosignerKey(vkey: string): CosignerKey {
  const { name, keyId, type, key } = splitVerifierKey(vkey);
  if (type !== SIGNATURE_TYPE.cosignatureV1 && type !== SIGNATURE_TYPE.ed25519) {
    throw new AirlockError(
      'E_KEY_UNSUPPORTED',
      `cosigner key ${name}: signature type 0x${type.toString(16).padStart(2, '0')} is not ` +
        `supported; cosigner keys are Ed25519 (type 0x04, or 0x01)`,
    );
  }
  const publicKey = ed25519KeyFromRaw(key, vkey);
  checkVerifierKeyId(vkey, keyId, namedKeyHash(name, type, key).readUInt32BE(0));
  const verifier = cosignatureVerifierFor(name, publicKey);
  return { name, keyId: verifier.keyId, type, publicKey, verifier };
}

export interface WitnessQuorum {
  readonly ok: boolean;
  readonly required: number;
  /** Distinct names of the witnesses whose cosignature verified, sorted. */
  readonly cosigned: string[];
  readonly cosignatures: ReadonlyArray<{ readonly name: string; readonly keyId: number; readonly time: Date }>;
}

/**
 * The distinct witness names, sorted, once the policy is one that can be met: every key a cosigner
 * key, and `required` from 1 to the number of distinct names (two keys of one witness count once).
 * Anything else is a usage error, not a verdict.
 */
export function checkWitnessQuorumPolicy(witnesses: readonly CosignatureVerifier[], required: number): string[] {
  for (const witness of witnesses) {
    if (witness.kind !== 'cosignature/v1')
      throw new AirlockError('E_USAGE', `witness ${witness.name} is not a cosigner (tlog-cosignature) key`);
  }
  const names = [...new Set(witnesses.map((w) => w.name))].sort();
  if (!Number.isInteger(required) || required < 1 || required > names.length) {
    throw new AirlockError(
      'E_USAGE',
      `${required} witness cosignatures cannot be required of ${names.length} witness name(s) ` +
        `(${names.join(', ') || 'none'})`,
      {
        hint: 'require from 1 to the number of distinct witnesses given',
      },
    );
  }
  return names;
}

/**
 * Counts the witnesses that cosigned a checkpoint note: distinct names, so two keys of one witness
 * count once. A cosignature naming a given witness key that fails to verify refuses the note, as any
 * known-key signature does (signed-note §Signatures). The log's own signature is not checked here.
 */
export function verifyWitnessQuorum(
  note: Uint8Array | string,
  witnesses: readonly CosignatureVerifier[],
  required: number,
): WitnessQuorum {
  checkWitnessQuorumPolicy(witnesses, required);
  const parsed = parseNote(note);
  parseCheckpoint(parsed.text);
  const { verified } = verifyNoteSignatures(parsed, witnesses);
  const cosignatures = verified.map((s) => ({ name: s.name, keyId: s.keyId, time: cosignatureTime(s.signature) }));
  const cosigned = [...new Set(cosignatures.map((c) => c.name))].sort();
  return { ok: cosigned.length >= required, required, cosigned, cosignatures };
}
