// Keys of signed notes: key IDs, the Rekor v2 log ID, note signers and verifiers over our Signer, and
// verifier keys ("vkeys", `<name>+<hex key ID>+<base64(type ‖ key)>`). Two signature types only:
// Ed25519 (0x01, signed-note §Ed25519) and ECDSA P-256 (0x02, transparency-dev/formats
// NewECDSAVerifier), because sigstore-js and sigstore-go disagree on any other curve.
// design/notes/tlog-anchors.md §0.8, §1.1, §2.2.
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { decodeBase64, isValidKeyName, keyIdHex, type NoteSigner, type NoteVerifier } from './note.ts';

/** Signature type bytes of signed-note §Signature types that airlock reads or writes. */
export const SIGNATURE_TYPE = { ed25519: 0x01, ecdsa: 0x02, cosignatureV1: 0x04 } as const;

const SUPPORTED = 'note keys are Ed25519 or ECDSA P-256';
const P384_HINT =
  'sigstore-go hashes P-384 checkpoints with SHA-384 and sigstore-js with SHA-256, so no P-384 note satisfies both';

/** RFC 6962 §3.2: a log's ID is SHA-256 of its DER SubjectPublicKeyInfo. Rekor v1 and CT logs use it. */
export function rfc6962LogId(spkiDer: Uint8Array): Buffer {
  return createHash('sha256').update(spkiDer).digest();
}

/** SHA-256(name ‖ 0x0A ‖ type ‖ key), signed-note's recommended key hash before truncation to 4 bytes. */
export function namedKeyHash(name: string, type: number, key: Uint8Array): Buffer {
  return createHash('sha256').update(`${name}\n`, 'utf8').update(Uint8Array.of(type)).update(key).digest();
}

/** The 32 bytes RFC 8032 calls the public key. */
export function ed25519RawKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
}

/**
 * The full 32-byte checkpoint key ID of a log whose checkpoints are signed notes named `origin`
 * (Rekor v2), which Rekor v2 also returns as the log ID. C2SP signed-note v1.0.0 derives a key ID as
 * SHA-256(key name || "\n" || signature type || public key) truncated to 4 bytes; rekor-tiles pkg/note
 * keeps the whole hash as the log ID (design/notes/tlog-anchors.md §2.2, checked there against the
 * public log2025-1.rekor.sigstore.dev entry, §2.3, and the rekor-local vector, §2.8):
 *   Ed25519 (type 0x01): SHA-256(origin || 0x0A || 0x01 || 32-byte raw key)
 *   ECDSA (type 0x02):   SHA-256(SPKI DER), no name, i.e. the RFC 6962 ID
 *   RSA (0xFF || "PKIX-RSA-PKCS#1v1.5", Sigstore's extension): SHA-256(origin || 0x0A || 0xFF || that || SPKI DER)
 */
export function checkpointKeyId(origin: string, key: KeyObject): Buffer {
  const spki = key.export({ type: 'spki', format: 'der' });
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return namedKeyHash(origin, SIGNATURE_TYPE.ed25519, ed25519RawKey(key));
    case 'ec':
      return rfc6962LogId(spki);
    case 'rsa':
      return namedKeyHash(origin, 0xff, Buffer.concat([Buffer.from('PKIX-RSA-PKCS#1v1.5'), spki]));
    default:
      throw new AirlockError('E_KEY_UNSUPPORTED', `no checkpoint key ID is defined for ${key.asymmetricKeyType} keys`);
  }
}

/** The `logId.keyId` a Rekor v2 log with this origin and key reports, and trusted_root.json must carry. */
export const logIdFor: (origin: string, publicKey: KeyObject) => Buffer = checkpointKeyId;

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  const size = details?.namedCurve ?? (details?.modulusLength ? `${details.modulusLength} bits` : undefined);
  return `${key.asymmetricKeyType ?? key.type}${size ? ` (${size})` : ''}`;
}

/**
 * The 32 raw bytes of an Ed25519 key, refusing other key types and keys that identify no signer: a
 * small-order point verifies signatures made without any private key, and a non-canonical encoding
 * gives one point several key IDs. Go accepts both.
 */
export function usableEd25519Key(key: KeyObject, what: string): Buffer {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new AirlockError('E_KEY_UNSUPPORTED', `${what}: ${describeKey(key)} is not an Ed25519 key`);
  const raw = ed25519RawKey(key);
  let point;
  try {
    point = ed25519.Point.fromBytes(raw);
  } catch (err) {
    throw new AirlockError('E_KEY_UNSUPPORTED', `${what}: not an Ed25519 public key`, { cause: err });
  }
  if (point.isSmallOrder() || !Buffer.from(point.toBytes()).equals(raw)) {
    throw new AirlockError(
      'E_KEY_UNSUPPORTED',
      `${what}: a degenerate Ed25519 public key (small order or non-canonical)`,
    );
  }
  return raw;
}

/** The note signature type of a key, or a refusal naming what is allowed. */
function noteKeyType(key: KeyObject, what: string): 0x01 | 0x02 {
  if (key.asymmetricKeyType === 'ed25519') {
    usableEd25519Key(key, what);
    return SIGNATURE_TYPE.ed25519;
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return SIGNATURE_TYPE.ecdsa;
  throw new AirlockError('E_KEY_UNSUPPORTED', `${what}: ${describeKey(key)} keys cannot sign notes; ${SUPPORTED}`, {
    hint: key.asymmetricKeyType === 'ec' ? P384_HINT : 'generate an Ed25519 or ECDSA P-256 key for the log',
  });
}

function checkName(name: string, what: string): void {
  if (!isValidKeyName(name))
    throw new AirlockError(
      'E_USAGE',
      `${what}: '${name}' is not a signed-note key name (non-empty, no spaces, no '+')`,
    );
}

/** Verifiers may be handed a private key; they keep only its public half. */
export function publicHalf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/** Ed25519 verifies over the text itself; ECDSA (type 0x02) over SHA-256 of it, DER-encoded (formats). */
function verifyNoteSignature(type: 0x01 | 0x02, key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (type === SIGNATURE_TYPE.ed25519) return signature.length === 64 && verify(null, message, key, signature);
    return verify('sha256', message, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

export function noteVerifierFor(name: string, publicKey: KeyObject): NoteVerifier {
  checkName(name, 'note verifier');
  const key = publicHalf(publicKey);
  const type = noteKeyType(key, `note verifier ${name}`);
  const keyId = checkpointKeyId(name, key).readUInt32BE(0);
  return { name, keyId, verify: (message, signature) => verifyNoteSignature(type, key, message, signature) };
}

const SIGNER_ALGORITHM = {
  [SIGNATURE_TYPE.ed25519]: 'ed25519',
  [SIGNATURE_TYPE.ecdsa]: 'ecdsa-sha2-256-nistp256',
} as const;

/** A note signer over one of our Signers (key file or PKCS#11); the key decides the signature type. */
export function noteSignerFor(name: string, signer: Signer): NoteSigner {
  checkName(name, 'note signer');
  const type = noteKeyType(signer.publicKey, `note signer ${name} (${signer.description})`);
  if (signer.algorithm !== SIGNER_ALGORITHM[type]) {
    throw new AirlockError(
      'E_KEY_UNSUPPORTED',
      `note signer ${name}: ${signer.description} signs with ${signer.algorithm}; a note needs ` +
        `${SIGNER_ALGORITHM[type]}`,
    );
  }
  const verifier = noteVerifierFor(name, signer.publicKey);
  return {
    name,
    keyId: verifier.keyId,
    async sign(message) {
      // Our Signer hashes with SHA-256 for ECDSA P-256 and signs Ed25519 messages whole: both are what
      // the note types want.
      const signature = await signer.sign(message);
      // A token that returns raw r‖s, or holds another key than the one read, would otherwise put a
      // signature nobody can check into a checkpoint for good.
      if (!verifier.verify(message, signature)) {
        throw new AirlockError(
          'E_SIGNATURE_INVALID',
          `note signer ${name}: ${signer.description} made a signature its own public key does not verify`,
        );
      }
      return signature;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Verifier keys

export interface VerifierKeyParts {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly key: Buffer;
}

const badVkey = (vkey: string, reason: string) =>
  new AirlockError('E_INPUT_MALFORMED', `verifier key '${vkey.slice(0, 60)}': ${reason}`);

/** Splits `<name>+<8 hex>+<base64(type ‖ key)>` at its first two '+' (the base64 may hold more). */
export function splitVerifierKey(vkey: string): VerifierKeyParts {
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw badVkey(vkey, 'expected <name>+<key ID>+<key>');
  const name = vkey.slice(0, first);
  const hex = vkey.slice(first + 1, second);
  if (!isValidKeyName(name)) throw badVkey(vkey, 'the name is empty or has a space');
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw badVkey(vkey, `key ID '${hex}' is not 8 hex digits`);
  const bytes = decodeBase64(vkey.slice(second + 1));
  if (!bytes || bytes.length < 2) throw badVkey(vkey, 'the key is not base64 of a type byte and a key');
  return { name, keyId: Number.parseInt(hex, 16), type: bytes[0] as number, key: bytes.subarray(1) };
}

/** Checks the key ID a vkey states against the one derived from its key. */
export function checkVerifierKeyId(vkey: string, stated: number, derived: number): void {
  if (stated !== derived)
    throw badVkey(vkey, `key ID ${keyIdHex(stated)} does not belong to the key (its ID is ${keyIdHex(derived)})`);
}

export function ed25519KeyFromRaw(raw: Uint8Array, vkey: string): KeyObject {
  if (raw.length !== 32) throw badVkey(vkey, `an Ed25519 key is 32 bytes, not ${raw.length}`);
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

function ecdsaKeyFromSpki(der: Buffer, vkey: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `verifier key '${vkey.slice(0, 60)}': not a DER public key`, {
      cause: err,
    });
  }
  // The key ID hashes the DER as written; another spelling of the same key would have another ID.
  if (!key.export({ type: 'spki', format: 'der' }).equals(der))
    throw badVkey(vkey, 'the public key is not in canonical SPKI DER form');
  return key;
}

export function encodeVerifierKey(name: string, publicKey: KeyObject): string {
  const verifier = noteVerifierFor(name, publicKey);
  const key = publicHalf(publicKey);
  const body =
    key.asymmetricKeyType === 'ed25519'
      ? Buffer.concat([Uint8Array.of(SIGNATURE_TYPE.ed25519), ed25519RawKey(key)])
      : Buffer.concat([Uint8Array.of(SIGNATURE_TYPE.ecdsa), key.export({ type: 'spki', format: 'der' })]);
  return `${name}+${keyIdHex(verifier.keyId)}+${body.toString('base64')}`;
}

export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: KeyObject;
  readonly verifier: NoteVerifier;
}

/** A log's vkey (type 0x01 or 0x02). Witness keys are read by parseCosignerKey (cosignature.ts). */
export function parseVerifierKey(vkey: string): VerifierKey {
  const { name, keyId, type, key } = splitVerifierKey(vkey);
  let publicKey: KeyObject;
  if (type === SIGNATURE_TYPE.ed25519) publicKey = ed25519KeyFromRaw(key, vkey);
  else if (type === SIGNATURE_TYPE.ecdsa) publicKey = ecdsaKeyFromSpki(key, vkey);
  else {
    const cosigner = type === SIGNATURE_TYPE.cosignatureV1 ? ' (a witness cosigner key: read it as one)' : '';
    throw new AirlockError(
      'E_KEY_UNSUPPORTED',
      `verifier key ${name}: signature type 0x${type.toString(16).padStart(2, '0')}${cosigner} ` +
        `is not a log key type; ${SUPPORTED}`,
    );
  }
  const verifier = noteVerifierFor(name, publicKey);
  checkVerifierKeyId(vkey, keyId, verifier.keyId);
  return { name, keyId, type, publicKey, verifier };
}
