// The CA's one decision, independent of HTTP: a verified identity token and a key the requester
// proved it holds become a short-lived certificate for that identity, recorded in the audit trail
// before it is handed out. The order is Fulcio's (token, key, proof) with the rate limit last, so
// only requests that would otherwise be issued count against an identity.
import { createHash, type KeyObject } from 'node:crypto';
import { spkiDer } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import { type Recorder, recordBeforeEffect } from '../recorder.ts';
import { bounded } from '../text.ts';
import { type IssuedCertificate as Issued, issueCertificate } from './certificate.ts';
import type { IssuingCa } from './certificate.ts';
import type { SigningCertRequest } from './fulcio-api.ts';
import type { Principal } from './identity.ts';
import type { TokenVerifier } from './oidc/index.ts';
import type { RateLimiter } from './rate-limit.ts';
import { parseCertificateSigningRequest, parseRequestPublicKey, verifyProofOfPossession } from './request.ts';

export interface CertificateAuthorityOptions {
  readonly ca: IssuingCa;
  readonly verifier: TokenVerifier;
  readonly now: () => Date;
  readonly random: (n: number) => Uint8Array;
  /** Lifetime of issued certificates (Fulcio: 10 minutes). */
  readonly validitySeconds: number;
  readonly rateLimit: RateLimiter;
  readonly record: Recorder;
}

export interface IssuedCertificate {
  /** Leaf first, then the CA chain up to the root. */
  readonly chainPem: readonly string[];
  readonly principal: Principal;
  readonly serialHex: string;
  readonly notAfter: Date;
}

/** Serial numbers: 20 random bytes, made positive by the certificate builder (RFC 5280 §4.1.2.2). */
const SERIAL_BYTES = 20;

export class CertificateAuthority {
  readonly #options: CertificateAuthorityOptions;

  constructor(options: CertificateAuthorityOptions) {
    this.#options = options;
  }

  /** The CA's own chain (issuing CA first, root last): what /api/v2/trustBundle serves. */
  get chainPem(): readonly string[] {
    return this.#options.ca.chainPem;
  }

  async issue(request: SigningCertRequest): Promise<IssuedCertificate> {
    const { ca, verifier, validitySeconds } = this.#options;
    const now = this.#options.now();
    const principal = await verifier.verify(request.token, now);
    const publicKey = requestedKey(request, principal);
    this.#checkRate(principal, now);
    const issued = await issueCertificate(ca, {
      publicKey,
      principal,
      notBefore: now,
      validitySeconds,
      serial: this.#options.random(SERIAL_BYTES),
    });
    await this.#record(principal, issued, publicKey, request.kind);
    return {
      chainPem: [issued.pem, ...ca.chainPem],
      principal,
      serialHex: issued.serialHex,
      notAfter: issued.notAfter,
    };
  }

  #checkRate(principal: Principal, now: Date): void {
    // Per certified identity (issuer + SAN), not per `sub`: email tokens need not carry a `sub`.
    const identity = `${principal.issuer}\n${principal.san.kind}:${principal.san.value}`;
    const decision = this.#options.rateLimit.take(identity, now.getTime());
    if (decision.allowed) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new AirlockError(
      'E_RATE_LIMITED',
      `too many certificates for ${bounded(principal.san.value)} in this interval; retry in ${retryAfterSeconds} s`,
      { details: { retryAfterSeconds } },
    );
  }

  /** Write-ahead: a certificate the trail does not know of is never handed out. */
  async #record(principal: Principal, cert: Issued, key: KeyObject, via: SigningCertRequest['kind']) {
    const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    await recordBeforeEffect(
      this.#options.record,
      {
        action: 'ca.issue',
        result: 'ok',
        subjects: [{ name: principal.san.value, digest: `sha256:${sha256(cert.der)}` }],
        details: {
          issuer: principal.issuer,
          subject: principal.subject,
          serial: cert.serialHex,
          notBefore: cert.notBefore.toISOString(),
          notAfter: cert.notAfter.toISOString(),
          publicKeySha256: sha256(spkiDer(key)),
          request: via,
        },
      },
      'issuing the certificate',
    );
  }
}

/** The key to certify: a public key whose proof of possession signs the identity, or a CSR's key. */
function requestedKey(request: SigningCertRequest, principal: Principal): KeyObject {
  if (request.kind === 'csr') return parseCertificateSigningRequest(request.csr);
  const key = parseRequestPublicKey(request.publicKey);
  verifyProofOfPossession(key, principal.challenge, request.proofOfPossession);
  return key;
}
