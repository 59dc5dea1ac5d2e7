// airlock's own SignatureContent implementations, swapped into @sigstore/verify's SignedEntity. They
// close three gaps of @sigstore/verify 4.1.3 (shared/design/notes/sigstore-js.md):
//   - digest-only verification of message signatures (the bytes are never needed), via
//     crypto/ecdsa-over-digest.ts, since node:crypto cannot verify ECDSA over a pre-computed digest;
//   - Ed25519 message signatures (it hashes before an Ed25519 verify, which cannot succeed);
//   - DSSE signed by P-384 keys (it verifies DSSE with SHA-256 whatever the curve).
import { createHash, type KeyObject, timingSafeEqual, verify } from 'node:crypto';
import { dsse } from '@sigstore/core';
import type { SignedEntity } from '@sigstore/verify';

type SignatureContent = SignedEntity['signature'];
import type { DigestAlgorithm } from '../../crypto/digest.ts';
import { ecdsaOverDigest } from '../../crypto/ecdsa-over-digest.ts';
import { SignatureMemo } from '../../crypto/signature-memo.ts';
import { AirlockError } from '../../errors.ts';

/** Signature checks that succeeded, remembered across verifications (see crypto/signature-memo.ts). */
export const verifiedSignatures = new SignatureMemo();

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The hash a key signs with by default: SHA-384 for P-384, none for Ed25519, else SHA-256. */
export function defaultHashFor(key: KeyObject): 'sha256' | 'sha384' | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1') return 'sha384';
  return 'sha256';
}

/** ECDSA over a digest: the path for `sha256:<hex>` artifacts and for large files hashed in a stream. */
export function verifyEcdsaDigest(
  key: KeyObject,
  digest: Uint8Array,
  signature: Uint8Array,
  hint = 'pass the artifact file instead of sha256:<hex>',
): boolean {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'secp384r1')) {
    throw new AirlockError('E_UNSUPPORTED', 'verifying against a digest needs an ECDSA P-256/P-384 signature', {
      hint,
    });
  }
  try {
    return ecdsaOverDigest(key)(digest, signature);
  } catch {
    return false; // a key that is not a valid point: nothing verifies against it
  }
}

export type MessageArtifact =
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | {
      readonly kind: 'digest';
      readonly algorithm: DigestAlgorithm;
      readonly digest: Buffer;
      /** What to do when the key needs the bytes: the digest was given, or the input was too large to hold. */
      readonly hint?: string;
    };

export class MessageSignatureContent implements SignatureContent {
  readonly signature: Buffer;
  readonly #messageDigest: Buffer;
  readonly #hash: 'sha256' | 'sha384' | 'sha512';
  readonly #artifact: MessageArtifact;
  #bytesDigest: Buffer | undefined;

  constructor(
    signature: Buffer,
    messageDigest: Buffer,
    hash: 'sha256' | 'sha384' | 'sha512',
    artifact: MessageArtifact,
  ) {
    this.signature = signature;
    this.#messageDigest = messageDigest;
    this.#hash = hash;
    this.#artifact = artifact;
  }

  compareSignature(signature: Buffer): boolean {
    return equal(signature, this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    return equal(digest, this.#messageDigest);
  }

  compareSignedDigest(digest: Buffer): boolean {
    return this.compareDigest(digest);
  }

  // The memo binds what the check consumes: the digest itself in digest mode, else a SHA-256 of the
  // very bytes verify() reads, hashed here rather than trusted from whoever built this object.
  verifySignature(key: KeyObject): boolean {
    const artifact = this.#artifact;
    if (artifact.kind === 'digest') {
      return verifiedSignatures.check(key, `prehashed:${artifact.algorithm}`, artifact.digest, this.signature, () =>
        verifyEcdsaDigest(key, artifact.digest, this.signature, artifact.hint),
      );
    }
    const hash = defaultHashFor(key) === null ? null : this.#hash;
    this.#bytesDigest ??= sha256(artifact.bytes);
    return verifiedSignatures.check(key, `message:${hash ?? 'pure'}`, this.#bytesDigest, this.signature, () => {
      try {
        return verify(hash, artifact.bytes, key, this.signature);
      } catch {
        return false;
      }
    });
  }
}

export class DsseSignatureContent implements SignatureContent {
  readonly signature: Buffer;
  readonly #pae: Buffer;
  readonly #payload: Buffer;
  #paeDigest: Buffer | undefined;

  constructor(payloadType: string, payload: Buffer, signature: Buffer) {
    this.signature = signature;
    this.#payload = payload;
    this.#pae = dsse.preAuthEncoding(payloadType, payload);
  }

  compareSignature(signature: Buffer): boolean {
    return equal(signature, this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    return equal(digest, sha256(this.#payload));
  }

  // Rekor v2 logs DSSE as hashedrekord over the PAE: the signed digest is the PAE's.
  compareSignedDigest(digest: Buffer): boolean {
    return equal(digest, this.#signedDigest());
  }

  verifySignature(key: KeyObject): boolean {
    const hash = defaultHashFor(key);
    return verifiedSignatures.check(key, `dsse-pae:${hash ?? 'pure'}`, this.#signedDigest(), this.signature, () => {
      try {
        return verify(hash, this.#pae, key, this.signature);
      } catch {
        return false;
      }
    });
  }

  #signedDigest(): Buffer {
    return (this.#paeDigest ??= sha256(this.#pae));
  }
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
