// One signature check for the CA's purposes, with the encodings Sigstore clients and Go's x509 use:
// ASN.1 DER for ECDSA, PKCS#1 v1.5 for RSA, pure (no pre-hash) Ed25519.
import { constants, type KeyObject, verify } from 'node:crypto';

export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

/** True when `signature` verifies; false for a bad signature, a key of another type, or a malformed one. */
export function verifiesWith(
  key: KeyObject,
  hash: SignatureHash | null,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    switch (key.asymmetricKeyType) {
      case 'ed25519':
        return hash === null && verify(null, data, key, signature);
      case 'ec':
        return hash !== null && verify(hash, data, { key, dsaEncoding: 'der' }, signature);
      case 'rsa':
        return hash !== null && verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
