// What the CA learns from a verified identity token and puts into a certificate: the contract between
// token verification (oidc/) and certificate building (certificate.ts). Fulcio's mapping per issuer
// type is in design/notes/fulcio-private-ca.md §3–4.

/** Issuer types airlock's CA maps, as Fulcio names them. */
export const ISSUER_TYPES = ['email', 'uri', 'kubernetes', 'github-workflow'] as const;
export type IssuerType = (typeof ISSUER_TYPES)[number];

/** Sigstore's OID arc for certificate extensions (Fulcio docs/oid-info.md). */
export const SIGSTORE_OID_ARC = '1.3.6.1.4.1.57264.1';

/**
 * One Fulcio extension. `raw`: the extnValue octets are the string's UTF-8 bytes (the deprecated
 * 1.1–1.6); `der-utf8`: the octets are a DER UTF8String (1.8 onwards). Never critical.
 */
export interface FulcioExtension {
  readonly oid: string;
  readonly encoding: 'raw' | 'der-utf8';
  readonly value: string;
}

/** The subject alternative name the certificate carries (exactly one, critical: the subject is empty). */
export interface SubjectAltName {
  readonly kind: 'email' | 'uri';
  readonly value: string;
}

/** A verified token, mapped as Fulcio maps its issuer type. */
export interface Principal {
  /** The token's `iss`: what 1.1 and 1.8 carry and `--certificate-oidc-issuer` pins. */
  readonly issuer: string;
  /** The raw `sub` (1.24). */
  readonly subject: string;
  /** What the proof of possession signs: `email` for email issuers, `sub` for the others. */
  readonly challenge: string;
  readonly san: SubjectAltName;
  /** Fulcio's extensions in its Render order (1.1, 1.2–1.6, 1.8, 1.9 … 1.24); empty values left out. */
  readonly extensions: readonly FulcioExtension[];
}
