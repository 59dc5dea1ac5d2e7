// Rekor v2 entries, server side (shared/design/notes/tlog-anchors.md §2.1, §6.3–6.4): the
// `hashedRekordRequestV002` a client POSTs to /api/v2/log/entries, the canonical entry body that becomes
// the log leaf, and the TransparencyLogEntry the log answers with. Shapes come from
// @sigstore/protobuf-specs' generated rekor/v2 types, so the protojson naming is theirs, not ours.
//
// Two checks go beyond rekor-tiles, because cosign ≥ 3.1 / sigstore-go ≥ 1.2 never read the stored
// body: they rebuild the leaf from the bundle (§2.4) with the key re-encoded by Go and the key's
// *default* keyDetails. An entry stored in any other form would be logged yet never verify, so the
// verifier must be canonical DER and keyDetails must be that default.
import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { json as sigstoreJson } from '@sigstore/core';
import {
  HashAlgorithm,
  PublicKeyDetails,
  publicKeyDetailsToJSON,
  TransparencyLogEntry,
} from '@sigstore/protobuf-specs';
import {
  CreateEntryRequest,
  Entry,
  type HashedRekordRequestV002,
  type Verifier,
} from '@sigstore/protobuf-specs/rekor/v2';
import { signatureOverDigest, type SignatureOverDigest } from '../crypto/signature-over-digest.ts';
import { AirlockError } from '../errors.ts';

/** rekor-tiles' default `--max-request-body-size`; the server stops reading a request beyond it. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** tlog-tiles entry bundles prefix each entry with a 16-bit length (C2SP tlog-tiles, "Log entries"). */
export const MAX_ENTRY_BYTES = 65_535;
export const ENTRY_KIND = 'hashedrekord';
export const ENTRY_API_VERSION = '0.0.2';

export type EntryHash = 'sha256' | 'sha384' | 'sha512';

/** What a key must use in a hashedrekord v0.0.2 entry: sigstore-go's GetDefaultPublicKeyDetails(key, WithED25519ph). */
export interface EntryAlgorithm {
  readonly keyDetails: PublicKeyDetails;
  readonly hash: EntryHash;
}

const HASHES: Record<EntryHash, { readonly proto: HashAlgorithm; readonly size: number }> = {
  sha256: { proto: HashAlgorithm.SHA2_256, size: 32 },
  sha384: { proto: HashAlgorithm.SHA2_384, size: 48 },
  sha512: { proto: HashAlgorithm.SHA2_512, size: 64 },
};

const EC_CURVES = {
  prime256v1: { keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, hash: 'sha256' },
  secp384r1: { keyDetails: PublicKeyDetails.PKIX_ECDSA_P384_SHA_384, hash: 'sha384' },
  secp521r1: { keyDetails: PublicKeyDetails.PKIX_ECDSA_P521_SHA_512, hash: 'sha512' },
} as const;

const RSA_SIZES: Record<number, PublicKeyDetails> = {
  2048: PublicKeyDetails.PKIX_RSA_PKCS1V15_2048_SHA256,
  3072: PublicKeyDetails.PKIX_RSA_PKCS1V15_3072_SHA256,
  4096: PublicKeyDetails.PKIX_RSA_PKCS1V15_4096_SHA256,
};

const SUPPORTED_KEYS = 'ECDSA P-256/P-384/P-521, RSA 2048/3072/4096 (PKCS#1 v1.5) or Ed25519 (as Ed25519ph)';

/** The protobuf HashAlgorithm of an entry hash, as bundles record message digests. */
export function entryHashAlgorithm(hash: EntryHash): HashAlgorithm {
  return HASHES[hash].proto;
}

function ecCurveOf(key: KeyObject): (typeof EC_CURVES)[keyof typeof EC_CURVES] | undefined {
  const name = key.asymmetricKeyDetails?.namedCurve ?? '';
  return Object.hasOwn(EC_CURVES, name) ? EC_CURVES[name as keyof typeof EC_CURVES] : undefined;
}

/** The keyDetails and digest hash a key logs with; E_KEY_UNSUPPORTED for keys Rekor v2 does not take. */
export function entryAlgorithmFor(key: KeyObject): EntryAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = ecCurveOf(key);
    if (curve) return { keyDetails: curve.keyDetails, hash: curve.hash };
  } else if (type === 'rsa') {
    const keyDetails = RSA_SIZES[key.asymmetricKeyDetails?.modulusLength ?? 0];
    if (keyDetails !== undefined) return { keyDetails, hash: 'sha256' };
  } else if (type === 'ed25519') {
    return { keyDetails: PublicKeyDetails.PKIX_ED25519_PH, hash: 'sha512' };
  }
  const details = key.asymmetricKeyDetails ?? {};
  const what = [type, details.namedCurve, details.modulusLength && `${details.modulusLength} bits`]
    .filter(Boolean)
    .join(' ');
  throw new AirlockError('E_KEY_UNSUPPORTED', `a ${what} key cannot sign hashedrekord v0.0.2 entries`, {
    hint: `Rekor v2 accepts ${SUPPORTED_KEYS}`,
  });
}

export interface HashedRekordEntry {
  /** The log leaf: RFC 8785 JCS of the protojson `Entry`, at most MAX_ENTRY_BYTES. */
  readonly body: Uint8Array;
  readonly digest: Uint8Array;
  readonly hash: EntryHash;
  readonly signature: Uint8Array;
  readonly keyDetails: PublicKeyDetails;
  readonly publicKey: KeyObject;
  /** Set when the verifier is an X.509 certificate rather than a bare key. */
  readonly certificate: X509Certificate | undefined;
}

/** The JSON body of `POST /api/v2/log/entries` (protojson of rekor.v2.CreateEntryRequest). */
export interface CreateEntryRequestJSON {
  readonly hashedRekordRequestV002: {
    readonly digest: string;
    readonly signature: {
      readonly content: string;
      readonly verifier: (
        | { readonly publicKey: { readonly rawBytes: string } }
        | { readonly x509Certificate: { readonly rawBytes: string } }
      ) & {
        readonly keyDetails: string;
      };
    };
  };
}

function malformed(message: string, cause?: unknown): AirlockError {
  return new AirlockError(
    'E_INPUT_MALFORMED',
    `Rekor v2 entry request: ${message}`,
    cause === undefined ? {} : { cause },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * §2.1: the request's shape, strictly: what protojson with DiscardUnknown=false would take, in its canonical spelling.
 */
function readRequest(json: unknown): HashedRekordRequestV002 {
  if (isObject(json) && 'dsseRequestV002' in json) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      'Rekor v2 entry request: dsseRequestV002 is not accepted (Rekor v2 dropped DSSE entries; ' +
        'cosign ≥ 3.1 cannot read them)',
      {
        hint:
          'log a DSSE envelope as hashedRekordRequestV002: digest = SHA-256 of its PAE ' +
          '(pre-authentication encoding), signature = the envelope signature',
      },
    );
  }
  if (!isObject(json) || Object.keys(json).length !== 1 || !isObject(json.hashedRekordRequestV002)) {
    throw malformed('expected a JSON object {"hashedRekordRequestV002": {...}}');
  }
  let message: CreateEntryRequest;
  try {
    message = CreateEntryRequest.fromJSON(json);
  } catch (err) {
    throw malformed(`cannot be read: ${(err as Error).message}`, err);
  }
  const request = message.spec?.$case === 'hashedRekordRequestV002' ? message.spec.hashedRekordRequestV002 : undefined;
  const missing = missingField(request);
  if (missing) throw malformed(`${missing} is missing or empty`);
  if (!serialisesBackTo(message, json)) {
    throw malformed(
      'has fields Rekor v2 does not define, null values, both publicKey and x509Certificate, ' +
        'numeric enums, or base64 that is not standard and padded',
    );
  }
  return request as HashedRekordRequestV002;
}

/** fromJSON is lenient (it drops unknown fields, decodes any base64); what it dropped or re-spelled shows here. */
function serialisesBackTo(message: CreateEntryRequest, json: unknown): boolean {
  try {
    return sigstoreJson.canonicalize(CreateEntryRequest.toJSON(message)) === sigstoreJson.canonicalize(json);
  } catch {
    return false;
  }
}

function missingField(request: HashedRekordRequestV002 | undefined): string | undefined {
  const verifier = request?.signature?.verifier;
  if (!request?.digest.length) return 'digest';
  if (!request.signature?.content.length) return 'signature.content';
  if (!verifier) return 'signature.verifier';
  if (verifier.keyDetails === PublicKeyDetails.PUBLIC_KEY_DETAILS_UNSPECIFIED) return 'signature.verifier.keyDetails';
  const raw = verifier.verifier;
  if (!raw) return 'signature.verifier.publicKey (or x509Certificate)';
  const bytes = raw.$case === 'publicKey' ? raw.publicKey.rawBytes : raw.x509Certificate.rawBytes;
  return bytes.length === 0 ? `signature.verifier.${raw.$case}.rawBytes` : undefined;
}

/** A request's verifier, parsed and checked: what the signature check needs, and what the entry reports. */
export interface ParsedVerifier {
  readonly key: KeyObject;
  readonly certificate: X509Certificate | undefined;
  readonly algorithm: EntryAlgorithm;
  /** The signature check over a digest, bound to the key (parsing a key costs more than a native check). */
  readonly verifiesOverDigest: SignatureOverDigest;
}

// A log sees the same few signing keys again and again (key-based signers); parsing, re-encoding and
// exporting one costs a fifth of a P-256 check and more than an RSA one. Kept by the SHA-256 of the
// exact bytes sent (and their kind), so a hit is the same key or certificate; kept only once a request
// with it was accepted, so requests that fail cannot fill it, and each is at most an entry's size.
export class VerifierCache {
  readonly #limit: number;
  readonly #kept = new Map<string, ParsedVerifier>();

  constructor(limit = 256) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#kept.size;
  }

  get(cacheKey: string): ParsedVerifier | undefined {
    const kept = this.#kept.get(cacheKey);
    if (kept) {
      this.#kept.delete(cacheKey); // most recently used goes last
      this.#kept.set(cacheKey, kept);
    }
    return kept;
  }

  remember(cacheKey: string, parsed: ParsedVerifier): void {
    if (this.#kept.has(cacheKey)) return;
    this.#kept.set(cacheKey, parsed);
    if (this.#kept.size > this.#limit) this.#kept.delete(this.#kept.keys().next().value as string);
  }
}

const sharedVerifiers = new VerifierCache();

function verifierCacheKey(verifier: Verifier): string {
  const raw = verifier.verifier;
  if (!raw) return '';
  const bytes = raw.$case === 'publicKey' ? raw.publicKey.rawBytes : raw.x509Certificate.rawBytes;
  // It goes into the entry whole (base64): one larger than an entry can never be accepted, so it is not even parsed.
  if (bytes.length > MAX_ENTRY_BYTES)
    throw malformed(
      `${raw.$case}.rawBytes is ${bytes.length} bytes; tlog-tiles entries hold at most ${MAX_ENTRY_BYTES}`,
    );
  return `${raw.$case}:${createHash('sha256').update(bytes).digest('base64')}`;
}

function parseVerifier(verifier: Verifier, cacheKey: string, verifiers: VerifierCache): ParsedVerifier {
  const cached = verifiers.get(cacheKey);
  if (cached) return cached;
  const { key, certificate } = readVerifier(verifier);
  const algorithm = entryAlgorithmFor(key);
  return { key, certificate, algorithm, verifiesOverDigest: signatureOverDigest(key, algorithm.hash) };
}

/** The signing key, from canonical SPKI DER or from a certificate that is exactly one DER certificate. */
function readVerifier(verifier: Verifier): { key: KeyObject; certificate: X509Certificate | undefined } {
  const raw = verifier.verifier;
  if (raw?.$case === 'x509Certificate') {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(raw.x509Certificate.rawBytes);
    } catch (err) {
      throw malformed('x509Certificate.rawBytes is not a DER X.509 certificate', err);
    }
    // OpenSSL ignores trailing bytes; Go's x509.ParseCertificate (rekor-tiles, sigstore-go) does not.
    if (!Buffer.from(certificate.raw).equals(raw.x509Certificate.rawBytes)) {
      throw malformed('x509Certificate.rawBytes has bytes after the certificate');
    }
    // Go's x509.ParseCertificate refuses EC keys with explicit curve parameters or a compressed
    // point, which OpenSSL takes: such a certificate could be logged and never verify.
    const key = certificate.publicKey;
    entryAlgorithmFor(key);
    if (!canonicalSpki(key).equals(key.export({ type: 'spki', format: 'der' }))) {
      throw new AirlockError('E_KEY_UNSUPPORTED', "the certificate's key is not in the form Go's x509 package parses", {
        hint: 'EC keys must name their curve (P-256, P-384, P-521) and use an uncompressed point',
      });
    }
    return { key, certificate };
  }
  const spki = raw?.$case === 'publicKey' ? raw.publicKey.rawBytes : Buffer.alloc(0);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw malformed('publicKey.rawBytes is not a DER SubjectPublicKeyInfo', err);
  }
  entryAlgorithmFor(key);
  if (!canonicalSpki(key).equals(spki)) {
    throw new AirlockError('E_KEY_UNSUPPORTED', 'publicKey.rawBytes is not the canonical DER encoding of its key', {
      hint:
        'send the SubjectPublicKeyInfo as Go x509.MarshalPKIXPublicKey writes it (uncompressed EC ' +
        'point, no trailing bytes): verifiers re-encode the key that way to rebuild the entry',
    });
  }
  return { key, certificate: undefined };
}

/**
 * The SPKI DER Go's x509.MarshalPKIXPublicKey writes for the key. OpenSSL keeps the point form it was
 * given (a compressed EC point stays compressed), so the key is rebuilt from its JWK, which OpenSSL
 * always encodes uncompressed, as Go does. A key OpenSSL parses but cannot export (the point at
 * infinity) is not a key anything can verify with.
 */
function canonicalSpki(key: KeyObject): Buffer {
  try {
    return createPublicKey({ key: key.export({ format: 'jwk' }), format: 'jwk' }).export({
      type: 'spki',
      format: 'der',
    });
  } catch (err) {
    throw new AirlockError(
      'E_KEY_UNSUPPORTED',
      'the public key cannot be re-encoded: it is not a valid key of its type',
      { cause: err },
    );
  }
}

function checkKeyDetails(requested: PublicKeyDetails, algorithm: EntryAlgorithm): void {
  if (requested === algorithm.keyDetails) return;
  const wanted = publicKeyDetailsToJSON(algorithm.keyDetails);
  const got = publicKeyDetailsToJSON(requested);
  const why =
    requested === PublicKeyDetails.PKIX_ED25519
      ? 'pure Ed25519 signs the whole message, and a hashedrekord carries only its digest'
      : 'cosign and sigstore-go rebuild the entry with the default keyDetails of the key, so any ' +
        'other value would never verify';
  throw new AirlockError('E_KEY_UNSUPPORTED', `keyDetails ${got} is not accepted for this key: expected ${wanted}`, {
    hint: why,
  });
}

/**
 * Parses and checks a CreateEntryRequest (§2.1 "Server-side checks", §6.3): shape, key, keyDetails,
 * digest size, entry size, and the signature over the digest. E_INPUT_MALFORMED, E_KEY_UNSUPPORTED or
 * E_SIGNATURE_INVALID otherwise (the server answers 400 for all three).
 */
export function parseCreateEntryRequest(json: unknown, verifiers: VerifierCache = sharedVerifiers): HashedRekordEntry {
  const request = readRequest(json);
  const signature = request.signature as NonNullable<HashedRekordRequestV002['signature']>;
  const verifier = signature.verifier as Verifier;
  const cacheKey = verifierCacheKey(verifier);
  const parsed = parseVerifier(verifier, cacheKey, verifiers);
  const { key, certificate, algorithm } = parsed;
  checkKeyDetails(verifier.keyDetails, algorithm);
  const { size } = HASHES[algorithm.hash];
  if (request.digest.length !== size) {
    throw malformed(
      `digest is ${request.digest.length} bytes, but ` +
        `${publicKeyDetailsToJSON(algorithm.keyDetails)} signs a ${size}-byte ${algorithm.hash} ` +
        `digest`,
    );
  }
  const body = canonicalBody(request.digest, algorithm.hash, signature.content, verifier);
  if (body.length > MAX_ENTRY_BYTES) {
    throw malformed(`the entry is ${body.length} bytes; tlog-tiles entries hold at most ${MAX_ENTRY_BYTES}`);
  }
  if (!parsed.verifiesOverDigest(request.digest, signature.content)) {
    throw new AirlockError('E_SIGNATURE_INVALID', 'the signature does not verify over the digest with the given key', {
      hint:
        `the signature must be made over the ${algorithm.hash} digest sent, with ` +
        `${publicKeyDetailsToJSON(algorithm.keyDetails)}`,
    });
  }
  verifiers.remember(cacheKey, parsed);
  return {
    body,
    digest: request.digest,
    hash: algorithm.hash,
    signature: signature.content,
    keyDetails: algorithm.keyDetails,
    publicKey: key,
    certificate,
  };
}

/** The JSON for a request over `digest`; `verifier` is the signer's key, or its certificate. */
export function toCreateEntryRequest(input: {
  readonly digest: Uint8Array;
  readonly signature: Uint8Array;
  readonly verifier: KeyObject | X509Certificate;
}): CreateEntryRequestJSON {
  const certificate = input.verifier instanceof X509Certificate ? input.verifier : undefined;
  const key = certificate ? certificate.publicKey : (input.verifier as KeyObject);
  const verifier: Verifier = {
    keyDetails: entryAlgorithmFor(key).keyDetails,
    verifier: certificate
      ? { $case: 'x509Certificate', x509Certificate: { rawBytes: Buffer.from(certificate.raw) } }
      : { $case: 'publicKey', publicKey: { rawBytes: canonicalSpki(key) } },
  };
  const hashedRekordRequestV002 = {
    digest: Buffer.from(input.digest),
    signature: { content: Buffer.from(input.signature), verifier },
  };
  return CreateEntryRequest.toJSON({
    spec: { $case: 'hashedRekordRequestV002', hashedRekordRequestV002 },
  }) as CreateEntryRequestJSON;
}

/** §2.1 "Entry stored in the log": JCS of the protojson Entry, the verifier exactly as submitted. */
function canonicalBody(digest: Buffer, hash: EntryHash, content: Buffer, verifier: Verifier): Uint8Array {
  const entry: Entry = {
    kind: ENTRY_KIND,
    apiVersion: ENTRY_API_VERSION,
    spec: {
      spec: {
        $case: 'hashedRekordV002',
        hashedRekordV002: { data: { algorithm: HASHES[hash].proto, digest }, signature: { content, verifier } },
      },
    },
  };
  return Buffer.from(sigstoreJson.canonicalize(Entry.toJSON(entry)), 'utf8');
}

/** What the log tells a client about one entry (§2.1 Response, §6.4). */
export interface TransparencyLogEntryJSON {
  readonly logIndex: string;
  readonly logId: { readonly keyId: string };
  readonly kindVersion: { readonly kind: string; readonly version: string };
  readonly integratedTime: string;
  readonly inclusionProof: {
    readonly logIndex: string;
    readonly rootHash: string;
    readonly treeSize: string;
    readonly hashes: readonly string[];
    readonly checkpoint: { readonly envelope: string };
  };
  readonly canonicalizedBody: string;
}

export interface LoggedEntry {
  readonly logIndex: number;
  /** The full 32-byte checkpoint key ID (§2.2), as in the trusted root's `logId.keyId`. */
  readonly logId: Uint8Array;
  readonly body: Uint8Array;
  /** The inclusion proof, leaf to root, at `treeSize`. */
  readonly inclusionHashes: readonly Uint8Array[];
  /** The signed note (checkpoint) of size `treeSize`, with any cosignatures. */
  readonly checkpoint: string;
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
}

function checkLoggedEntry(e: LoggedEntry): void {
  const problems = [
    !(Number.isSafeInteger(e.logIndex) && e.logIndex >= 0 && e.logIndex < e.treeSize) &&
      `logIndex ${e.logIndex} is not inside tree size ${e.treeSize}`,
    !Number.isSafeInteger(e.treeSize) && `treeSize ${e.treeSize} is not a safe integer`,
    e.logId.length !== 32 && `logId is ${e.logId.length} bytes, not 32`,
    e.rootHash.length !== 32 && `rootHash is ${e.rootHash.length} bytes, not 32`,
    e.inclusionHashes.some((h) => h.length !== 32) && 'an inclusion hash is not 32 bytes',
    e.checkpoint === '' && 'the checkpoint is empty',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new AirlockError('E_INTERNAL', `cannot describe log entry: ${problems.join('; ')}`);
}

/**
 * The TransparencyLogEntry for a logged entry, as protojson (§2.1 Response): int64 as strings,
 * `inclusionProof.logIndex` equal to `logIndex` (sigstore-js proves with it, sigstore-go with the
 * top-level one), integratedTime "0" and no inclusionPromise, since Rekor v2 signs no entry time.
 */
export function toTransparencyLogEntry(entry: LoggedEntry): TransparencyLogEntryJSON {
  checkLoggedEntry(entry);
  const logIndex = String(entry.logIndex);
  const json = TransparencyLogEntry.toJSON({
    logIndex,
    logId: { keyId: Buffer.from(entry.logId) },
    kindVersion: { kind: ENTRY_KIND, version: ENTRY_API_VERSION },
    integratedTime: '0',
    inclusionPromise: undefined,
    inclusionProof: {
      logIndex,
      rootHash: Buffer.from(entry.rootHash),
      treeSize: String(entry.treeSize),
      hashes: entry.inclusionHashes.map((h) => Buffer.from(h)),
      checkpoint: { envelope: entry.checkpoint },
    },
    canonicalizedBody: Buffer.from(entry.body),
  }) as TransparencyLogEntryJSON;
  // ts-proto leaves out zero values ("0", []); Rekor v2's gateway writes them (EmitUnpopulated), so do we.
  const proof = json.inclusionProof;
  return { ...json, logIndex, integratedTime: '0', inclusionProof: { ...proof, logIndex, hashes: proof.hashes ?? [] } };
}
