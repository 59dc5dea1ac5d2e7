// The `hashedRekordRequestV002` a client POSTs to a Rekor v2 log's /api/v2/log/entries
// (shared/design/notes/tlog-anchors.md §2.1, §6.3): read strictly, checked, and turned into the entry
// the log appends (rekor-entry.ts); and the same request written for a signature, as the client sends it.
//
// Two checks go beyond rekor-tiles, because cosign ≥ 3.1 / sigstore-go ≥ 1.2 never read the stored
// body: they rebuild the leaf from the bundle (§2.4) with the key re-encoded by Go and the key's
// *default* keyDetails. An entry stored in any other form would be logged yet never verify, so the
// verifier must be canonical DER (rekor-request-verifier.ts) and keyDetails must be that default.
import { type KeyObject, X509Certificate } from 'node:crypto';
import { json as sigstoreJson } from '@sigstore/core';
import { PublicKeyDetails, publicKeyDetailsToJSON } from '@sigstore/protobuf-specs';
import { CreateEntryRequest, type HashedRekordRequestV002, type Verifier } from '@sigstore/protobuf-specs/rekor/v2';
import { AirlockError } from '../errors.ts';
import {
  canonicalBody,
  type EntryAlgorithm,
  entryAlgorithmFor,
  entryDigestSize,
  type EntryHash,
  MAX_ENTRY_BYTES,
} from './rekor-entry.ts';
import {
  canonicalSpki,
  malformedRequest,
  parseVerifier,
  VerifierCache,
  verifierCacheKey,
} from './rekor-request-verifier.ts';

/** rekor-tiles' default `--max-request-body-size`; the server stops reading a request beyond it. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

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
    throw malformedRequest('expected a JSON object {"hashedRekordRequestV002": {...}}');
  }
  let message: CreateEntryRequest;
  try {
    message = CreateEntryRequest.fromJSON(json);
  } catch (err) {
    throw malformedRequest(`cannot be read: ${(err as Error).message}`, err);
  }
  const request = message.spec?.$case === 'hashedRekordRequestV002' ? message.spec.hashedRekordRequestV002 : undefined;
  const missing = missingField(request);
  if (missing) throw malformedRequest(`${missing} is missing or empty`);
  if (!serialisesBackTo(message, json)) {
    throw malformedRequest(
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

const sharedVerifiers = new VerifierCache();

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
  const size = entryDigestSize(algorithm.hash);
  if (request.digest.length !== size) {
    throw malformedRequest(
      `digest is ${request.digest.length} bytes, but ` +
        `${publicKeyDetailsToJSON(algorithm.keyDetails)} signs a ${size}-byte ${algorithm.hash} ` +
        `digest`,
    );
  }
  const body = canonicalBody(request.digest, algorithm.hash, signature.content, verifier);
  if (body.length > MAX_ENTRY_BYTES) {
    throw malformedRequest(`the entry is ${body.length} bytes; tlog-tiles entries hold at most ${MAX_ENTRY_BYTES}`);
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
