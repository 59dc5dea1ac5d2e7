// The signing port: one small interface every key source implements (key files, env:// PEMs,
// PKCS#11 tokens). Bundle builders only ever see this.
import type { KeyObject } from 'node:crypto';

/**
 * Signature algorithms airlock signs with, named as Sigstore's algorithm registry does
 * (PublicKeyDetails). The hash is the one the signature is computed with.
 */
export const SIGNING_ALGORITHMS = {
  'ecdsa-sha2-256-nistp256': { keyDetails: 'PKIX_ECDSA_P256_SHA_256', hash: 'sha256', family: 'ecdsa', curve: 'P-256' },
  'ecdsa-sha2-384-nistp384': { keyDetails: 'PKIX_ECDSA_P384_SHA_384', hash: 'sha384', family: 'ecdsa', curve: 'P-384' },
  ed25519: { keyDetails: 'PKIX_ED25519', hash: 'sha512', family: 'ed25519', curve: undefined },
  'rsa-sign-pkcs1-2048-sha256': {
    keyDetails: 'PKIX_RSA_PKCS1V15_2048_SHA256',
    hash: 'sha256',
    family: 'rsa-pkcs1',
    curve: undefined,
  },
  'rsa-sign-pkcs1-3072-sha256': {
    keyDetails: 'PKIX_RSA_PKCS1V15_3072_SHA256',
    hash: 'sha256',
    family: 'rsa-pkcs1',
    curve: undefined,
  },
  'rsa-sign-pkcs1-4096-sha256': {
    keyDetails: 'PKIX_RSA_PKCS1V15_4096_SHA256',
    hash: 'sha256',
    family: 'rsa-pkcs1',
    curve: undefined,
  },
  'rsa-sign-pss-2048-sha256': {
    keyDetails: 'PKIX_RSA_PSS_2048_SHA256',
    hash: 'sha256',
    family: 'rsa-pss',
    curve: undefined,
  },
  'rsa-sign-pss-3072-sha256': {
    keyDetails: 'PKIX_RSA_PSS_3072_SHA256',
    hash: 'sha256',
    family: 'rsa-pss',
    curve: undefined,
  },
  'rsa-sign-pss-4096-sha256': {
    keyDetails: 'PKIX_RSA_PSS_4096_SHA256',
    hash: 'sha256',
    family: 'rsa-pss',
    curve: undefined,
  },
} as const;

export type SigningAlgorithm = keyof typeof SIGNING_ALGORITHMS;
export type HashName = (typeof SIGNING_ALGORITHMS)[SigningAlgorithm]['hash'];

export interface StreamingSignature {
  update(chunk: Uint8Array): void;
  finish(): Promise<Uint8Array>;
}

export interface Signer {
  readonly algorithm: SigningAlgorithm;
  /** The public half, for the bundle's key hint and for verification. */
  readonly publicKey: KeyObject;
  /** A short human description of where the key lives ("file cosign.key", "pkcs11 token airlock"). */
  readonly description: string;
  /**
   * Signs `data` (the signer hashes it with the algorithm's hash). Signatures use the encodings
   * Sigstore clients expect: ASN.1 DER for ECDSA, raw for Ed25519 and RSA.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /**
   * Signs a digest already computed with the algorithm's hash, so large files are read once. Absent
   * for pure Ed25519, which must see the whole message.
   */
  signDigest?: (digest: Uint8Array) => Promise<Uint8Array>;
  /**
   * Signs a message fed in chunks (RSA keys on large files, where no digest-signing primitive is at
   * hand); the signer hashes inside.
   */
  startStream?: () => StreamingSignature;
  /** Releases sessions or handles (PKCS#11); safe to call twice. */
  close(): Promise<void>;
}
