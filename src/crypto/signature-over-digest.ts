// A signature checked over a digest the caller already holds, for each key type that signs one in a
// hashedrekord: a Rekor v2 entry carries only the artifact's digest, and node:crypto always hashes what
// it is given. ECDSA is ecdsa-over-digest.ts; RSA PKCS#1 v1.5 and Ed25519ph are checked here from their
// definitions, exactly as Go's verifiers (rekor-tiles with sigstore's LoadVerifierWithOpts) check them.
import { constants, type KeyObject, publicDecrypt, timingSafeEqual } from 'node:crypto';
import { eddsa } from '@noble/curves/abstract/edwards.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { MessageImprint } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { AirlockError } from '../errors.ts';
import type { DigestAlgorithm } from './digest.ts';
import { ecdsaOverDigest } from './ecdsa-over-digest.ts';

/** One key's check: true only when `signature` is that key's signature over `digest` (the prehash). */
export type SignatureOverDigest = (digest: Uint8Array, signature: Uint8Array) => boolean;

const DIGEST_INFO: Record<DigestAlgorithm, { readonly size: number; readonly oid: string }> = {
  sha256: { size: 32, oid: '2.16.840.1.101.3.4.2.1' },
  sha384: { size: 48, oid: '2.16.840.1.101.3.4.2.2' },
  sha512: { size: 64, oid: '2.16.840.1.101.3.4.2.3' },
};

/**
 * The key's check over a `hash` digest: ECDSA for an EC key, Ed25519ph for an Ed25519 key (its hash
 * is always SHA-512), PKCS#1 v1.5 for any other key, which only an RSA key passes. It comes bound to
 * the key for callers to keep: preparing a key costs more than a native check. A check that cannot
 * be made (a bad padding, a digest of another size than the hash's) answers false.
 */
export function signatureOverDigest(key: KeyObject, hash: DigestAlgorithm): SignatureOverDigest {
  if (key.asymmetricKeyType === 'ec') return ecdsaOverDigest(key);
  const publicKey =
    key.asymmetricKeyType === 'ed25519' ? Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url') : undefined;
  return (digest, signature) => {
    try {
      if (publicKey) return ed25519phOverDigest.verify(signature, digest, publicKey, { zip215: false });
      return rsaPkcs1Verifies(key, hash, digest, signature); // publicDecrypt throws for a bad padding
    } catch {
      return false;
    }
  };
}

// @noble/curves' ed25519ph hashes the message itself and has no way to take the SHA-512 digest, which
// is all a hashedrekord carries. This is the same curve and hash with RFC 8032 §5.1's dom2 for
// Ed25519ph (phflag 1, empty context) and PH(M) given as the input. Tested against RFC 8032 §7.3.
const DOM2_ED25519PH = Buffer.concat([Buffer.from('SigEd25519 no Ed25519 collisions', 'latin1'), Buffer.from([1, 0])]);
const ed25519phOverDigest = eddsa(ed25519.Point, sha512, {
  domain: (data: Uint8Array) => Buffer.concat([DOM2_ED25519PH, data]),
  prehash: (digest: Uint8Array) => digest,
});

// RFC 8017 §8.2.2: the recovered block must be exactly DER(DigestInfo) with NULL parameters, which is
// what Go's rsa.VerifyPKCS1v15 compares. MessageImprint (RFC 3161) is the same ASN.1 as DigestInfo.
function rsaPkcs1Verifies(key: KeyObject, hash: DigestAlgorithm, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length * 8 !== key.asymmetricKeyDetails?.modulusLength) return false;
  const expected = digestInfo(hash, digest);
  const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

const digestInfoPrefixes = new Map<DigestAlgorithm, Buffer>();

/**
 * DER(DigestInfo) of a digest of the hash's size. Every length in it is fixed by the hash, so the
 * encoding is a fixed prefix and the digest: the ASN.1 library encodes it once per hash (over zeros),
 * not once per request, which cost more than the RSA check itself.
 */
function digestInfo(hash: DigestAlgorithm, digest: Uint8Array): Buffer {
  const { oid, size } = DIGEST_INFO[hash];
  if (digest.length !== size)
    throw new AirlockError('E_INTERNAL', `a ${hash} digest is ${size} bytes, not ${digest.length}`);
  let prefix = digestInfoPrefixes.get(hash);
  if (!prefix) {
    const encoded = Buffer.from(
      AsnConvert.serialize(
        new MessageImprint({
          hashAlgorithm: new AlgorithmIdentifier({ algorithm: oid, parameters: null }),
          hashedMessage: new OctetString(new Uint8Array(size)),
        }),
      ),
    );
    prefix = encoded.subarray(0, encoded.length - size);
    digestInfoPrefixes.set(hash, prefix);
  }
  return Buffer.concat([prefix, digest]);
}
