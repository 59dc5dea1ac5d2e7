// The verifier of a Rekor v2 entry request — a public key or an X.509 certificate — read as Go reads it
// (tlog-anchors.md §2.1, §6.3). cosign ≥ 3.1 and sigstore-go ≥ 1.2 rebuild the entry from the bundle
// (§2.4) with the key re-encoded by Go's x509 package, so a key in any other encoding would be logged
// yet never verify: only canonical DER, and one DER certificate with nothing after it, are taken.
import { createHash, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { Verifier } from '@sigstore/protobuf-specs/rekor/v2';
import { signatureOverDigest, type SignatureOverDigest } from '../crypto/signature-over-digest.ts';
import { BoundedMap } from '../bounded-map.ts';
import { AirlockError } from '../errors.ts';
import { type EntryAlgorithm, entryAlgorithmFor, MAX_ENTRY_BYTES } from './rekor-entry.ts';

/** A request refused for its form (the log answers 400). */
export function malformedRequest(message: string, cause?: unknown): AirlockError {
  return new AirlockError(
    'E_INPUT_MALFORMED',
    `Rekor v2 entry request: ${message}`,
    cause === undefined ? {} : { cause },
  );
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
  readonly #kept: BoundedMap<string, ParsedVerifier>;

  constructor(limit = 256) {
    this.#kept = new BoundedMap(limit, { order: 'use' });
  }

  get size(): number {
    return this.#kept.size;
  }

  get(cacheKey: string): ParsedVerifier | undefined {
    return this.#kept.get(cacheKey);
  }

  remember(cacheKey: string, parsed: ParsedVerifier): void {
    if (!this.#kept.has(cacheKey)) this.#kept.set(cacheKey, parsed);
  }
}

/** What a verifier is kept under in a VerifierCache; refuses one larger than any entry. */
export function verifierCacheKey(verifier: Verifier): string {
  const raw = verifier.verifier;
  if (!raw) return '';
  const bytes = raw.$case === 'publicKey' ? raw.publicKey.rawBytes : raw.x509Certificate.rawBytes;
  // It goes into the entry whole (base64): one larger than an entry can never be accepted, so it is not even parsed.
  if (bytes.length > MAX_ENTRY_BYTES)
    throw malformedRequest(
      `${raw.$case}.rawBytes is ${bytes.length} bytes; tlog-tiles entries hold at most ${MAX_ENTRY_BYTES}`,
    );
  return `${raw.$case}:${createHash('sha256').update(bytes).digest('base64')}`;
}

/** The verifier kept under `cacheKey`, or else parsed and checked (the caller remembers it once accepted). */
export function parseVerifier(verifier: Verifier, cacheKey: string, verifiers: VerifierCache): ParsedVerifier {
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
      throw malformedRequest('x509Certificate.rawBytes is not a DER X.509 certificate', err);
    }
    // OpenSSL ignores trailing bytes; Go's x509.ParseCertificate (rekor-tiles, sigstore-go) does not.
    if (!Buffer.from(certificate.raw).equals(raw.x509Certificate.rawBytes)) {
      throw malformedRequest('x509Certificate.rawBytes has bytes after the certificate');
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
    throw malformedRequest('publicKey.rawBytes is not a DER SubjectPublicKeyInfo', err);
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
export function canonicalSpki(key: KeyObject): Buffer {
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
