// The hashedrekord v0.0.2 entry a Rekor v2 log stores (shared/design/notes/tlog-anchors.md §2.1): its
// kind and version, the keyDetails and digest hash each key logs with, and the canonical body that
// becomes the log leaf. The log's request parser (rekor-request.ts) and response (rekor-response.ts)
// and the Rekor v2 client all hold to these. Shapes come from @sigstore/protobuf-specs' generated
// rekor/v2 types, so the protojson naming is theirs, not ours.
import type { KeyObject } from 'node:crypto';
import { json as sigstoreJson } from '@sigstore/core';
import { HashAlgorithm, PublicKeyDetails } from '@sigstore/protobuf-specs';
import { Entry, type Verifier } from '@sigstore/protobuf-specs/rekor/v2';
import { AirlockError } from '../errors.ts';

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

/** The size in bytes of an entry hash's digest. */
export function entryDigestSize(hash: EntryHash): number {
  return HASHES[hash].size;
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

/** §2.1 "Entry stored in the log": JCS of the protojson Entry, the verifier exactly as submitted. */
export function canonicalBody(digest: Buffer, hash: EntryHash, content: Buffer, verifier: Verifier): Uint8Array {
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
