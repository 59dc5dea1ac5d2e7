// What the CA checks of the key in a certificate request before certifying it, as Fulcio checks it
// (design/notes/fulcio-private-ca.md §1–2): the key parses; it is not insecure (sigstore/sigstore
// cryptoutils.ValidatePubKey: RSA 2048–4096 bits, ECDSA on P-256/P-384/P-521, Ed25519); the holder
// proves possession, either by signing the token's challenge or by a CSR's self-signature; and the
// (key, hash) pair is one of Fulcio's default --client-signing-algorithms — each key has exactly one:
// P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, RSA 2048/3072/4096 with SHA-256, pure Ed25519.
// Messages are Fulcio's own client messages, so callers can answer as Fulcio answers.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { fromBER } from 'asn1js';
import { type PemBlock, parsePemBlocks } from '../crypto/pem.ts';
import { AirlockError } from '../errors.ts';
import { type SignatureHash, verifiesWith } from './verify-signature.ts';

export const REQUEST_MESSAGES = {
  keyUnparsable: 'The public key supplied in the request could not be parsed',
  keyInsecure: 'The public key supplied in the request is insecure',
  signatureInvalid: 'The signature supplied in the request could not be verified',
  csrUnparsable: 'The certificate signing request could not be parsed',
  algorithmNotPermitted: 'signing algorithm not permitted',
} as const;

/** A PEM or base64 SPKI of an RSA-4096 key is under 1 KiB; a CSR with a few extensions a few KiB. */
const MAX_PUBLIC_KEY_TEXT = 16 * 1024;
const MAX_CSR_TEXT = 64 * 1024;
/** RSA-4096 signatures are 512 bytes, DER ECDSA P-521 ones at most 139. */
const MAX_SIGNATURE_BYTES = 1024;

const EC_HASHES: Readonly<Record<string, SignatureHash>> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
};
const RSA_SIZES = [2048, 3072, 4096];

function refuse(code: 'E_CA_KEY' | 'E_CA_PROOF', message: string, reason: string, cause?: unknown): AirlockError {
  return new AirlockError(code, message, { details: { reason }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The hash `key` signs with, and the only one allowed with it (null: pure Ed25519). E_CA_KEY when the
 * key is insecure or its size is not one Fulcio's defaults permit.
 */
function permittedHash(key: KeyObject): SignatureHash | null {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return null;
    case 'ec': {
      const hash = EC_HASHES[details.namedCurve ?? ''];
      if (hash) return hash;
      throw refuse('E_CA_KEY', REQUEST_MESSAGES.keyInsecure, `ECDSA on ${details.namedCurve ?? 'an unnamed curve'}`);
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048 || bits > 4096) throw refuse('E_CA_KEY', REQUEST_MESSAGES.keyInsecure, `RSA ${bits} bits`);
      if (!RSA_SIZES.includes(bits)) {
        throw refuse('E_CA_KEY', `${REQUEST_MESSAGES.algorithmNotPermitted}: RSA ${bits} bits`, `RSA ${bits} bits`);
      }
      return 'sha256';
    }
    default:
      throw refuse('E_CA_KEY', REQUEST_MESSAGES.keyInsecure, `key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

function strictBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  // protojson accepts the URL-safe alphabet and missing padding for bytes fields; so does this.
  if (compact === '' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
}

type Refusal = (reason: string, cause?: unknown) => AirlockError;

function firstPemBlock(text: string, unparsable: Refusal): PemBlock | undefined {
  try {
    return parsePemBlocks(text)[0];
  } catch (err) {
    throw unparsable('bad PEM', err);
  }
}

function spkiBytes(content: string): Buffer {
  const unparsable: Refusal = (reason, cause) => refuse('E_CA_KEY', REQUEST_MESSAGES.keyUnparsable, reason, cause);
  if (content.length > MAX_PUBLIC_KEY_TEXT) throw unparsable(`longer than ${MAX_PUBLIC_KEY_TEXT} characters`);
  if (!content.includes('-----BEGIN')) {
    const der = strictBase64(content);
    if (!der) throw unparsable('not PEM or base64');
    return der;
  }
  const block = firstPemBlock(content, unparsable);
  if (block?.type !== 'PUBLIC KEY') throw unparsable('expected a PUBLIC KEY PEM block');
  return block.der;
}

/** The key of a request's `publicKey.content`: PEM `PUBLIC KEY` or base64 DER SubjectPublicKeyInfo. */
export function parseRequestPublicKey(content: string): KeyObject {
  const der = spkiBytes(content);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (err) {
    throw refuse('E_CA_KEY', REQUEST_MESSAGES.keyUnparsable, 'not a SubjectPublicKeyInfo', err);
  }
  permittedHash(key);
  return key;
}

/** Checks `proof`: a signature by `key` over the UTF-8 bytes of `challenge`, with the key's one hash. */
export function verifyProofOfPossession(key: KeyObject, challenge: string, proof: Uint8Array): void {
  const hash = permittedHash(key);
  const signed = new TextEncoder().encode(challenge);
  if (proof.length > MAX_SIGNATURE_BYTES || !verifiesWith(key, hash, signed, proof)) {
    throw refuse('E_CA_PROOF', REQUEST_MESSAGES.signatureInvalid, 'the proof of possession does not verify');
  }
}

interface CsrAlgorithm {
  readonly name: string;
  readonly keyType: 'ec' | 'rsa' | 'ed25519';
  readonly hash: SignatureHash | null;
}

/** CSR signature algorithms Fulcio maps to a hash (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3). RSA-PSS is not one. */
const CSR_ALGORITHMS: Readonly<Record<string, CsrAlgorithm>> = {
  '1.2.840.10045.4.3.2': { name: 'ECDSA with SHA-256', keyType: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { name: 'ECDSA with SHA-384', keyType: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { name: 'ECDSA with SHA-512', keyType: 'ec', hash: 'sha512' },
  '1.2.840.113549.1.1.11': { name: 'RSA with SHA-256', keyType: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { name: 'RSA with SHA-384', keyType: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { name: 'RSA with SHA-512', keyType: 'rsa', hash: 'sha512' },
  '1.3.101.112': { name: 'Ed25519', keyType: 'ed25519', hash: null },
};

const CSR_PEM_TYPES = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'];

const csrUnparsable: Refusal = (reason, cause) => refuse('E_CA_KEY', REQUEST_MESSAGES.csrUnparsable, reason, cause);

function csrDer(base64OfPem: string): Buffer {
  if (base64OfPem.length > MAX_CSR_TEXT) throw csrUnparsable(`longer than ${MAX_CSR_TEXT} characters`);
  const pem = strictBase64(base64OfPem);
  if (!pem) throw csrUnparsable('not base64');
  const block = firstPemBlock(pem.toString('latin1'), csrUnparsable);
  // Fulcio (cryptoutils.ParseCSR) takes PEM only: bare DER is refused.
  if (!block || !CSR_PEM_TYPES.includes(block.type)) throw csrUnparsable('expected a CERTIFICATE REQUEST PEM block');
  return block.der;
}

function parseCsr(der: Buffer): { csr: CertificationRequest; key: KeyObject } {
  const outer = fromBER(der);
  // Go's x509.ParseCertificateRequest refuses trailing data after the request; so does this.
  if (outer.offset !== der.length || outer.result.error) throw csrUnparsable('not one DER structure');
  try {
    const csr = AsnConvert.parse(der, CertificationRequest);
    const spki = AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo);
    return { csr, key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }) };
  } catch (err) {
    throw csrUnparsable('not a PKCS#10 certification request with a known key type', err);
  }
}

/**
 * The key of a CSR given as base64 of its PEM text, once its self-signature verifies and its
 * (key, hash) pair is permitted. Every other CSR field, subject and SANs included, is ignored.
 */
export function parseCertificateSigningRequest(base64OfPem: string): KeyObject {
  const { csr, key } = parseCsr(csrDer(base64OfPem));
  const oid = csr.signatureAlgorithm.algorithm;
  const algorithm = CSR_ALGORITHMS[oid];
  if (!algorithm) {
    const reason = `CSR signature algorithm ${oid}`;
    throw refuse('E_CA_KEY', `${REQUEST_MESSAGES.algorithmNotPermitted}: ${reason}`, reason);
  }
  const info = new Uint8Array(csr.certificationRequestInfoRaw ?? AsnConvert.serialize(csr.certificationRequestInfo));
  const signature = new Uint8Array(csr.signature);
  if (key.asymmetricKeyType !== algorithm.keyType || !verifiesWith(key, algorithm.hash, info, signature)) {
    throw refuse('E_CA_PROOF', REQUEST_MESSAGES.signatureInvalid, 'the CSR self-signature does not verify');
  }
  if (permittedHash(key) !== algorithm.hash) {
    const reason = `${describeKey(key)} signed with ${algorithm.name}`;
    throw refuse('E_CA_KEY', `${REQUEST_MESSAGES.algorithmNotPermitted}: ${reason}`, reason);
  }
  return key;
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `an ECDSA ${details.namedCurve} key`;
  if (key.asymmetricKeyType === 'rsa') return `an RSA ${details.modulusLength}-bit key`;
  return `an ${key.asymmetricKeyType} key`;
}
