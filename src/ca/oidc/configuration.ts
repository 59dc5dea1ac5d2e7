// The body of Fulcio's `GET /api/v2/configuration` (fulcio.proto `OIDCIssuer`, built by `ToIssuers` in
// pkg/config/config.go): one entry per issuer, fields in proto order, empty ones still present as the
// gateway emits unpopulated fields. Clients read `challengeClaim` to learn what to sign.
import type { OidcIssuerSpec } from './issuer-spec.ts';

export interface FulcioOidcIssuer {
  readonly issuerUrl: string;
  readonly audience: string;
  /** `email` for email issuers, `sub` for every other type (Fulcio's `issuerToChallengeClaim`). */
  readonly challengeClaim: 'email' | 'sub';
  readonly spiffeTrustDomain: string;
  readonly issuerType: string;
  readonly subjectDomain: string;
  readonly skipEmailVerification: boolean;
}

export interface FulcioConfiguration {
  readonly issuers: readonly FulcioOidcIssuer[];
}

export function issuerConfiguration(issuers: readonly OidcIssuerSpec[]): FulcioConfiguration {
  return {
    issuers: issuers.map((issuer) => ({
      issuerUrl: issuer.url,
      audience: issuer.audience,
      challengeClaim: issuer.type === 'email' ? 'email' : 'sub',
      spiffeTrustDomain: '',
      issuerType: issuer.type,
      subjectDomain: issuer.subjectDomain ?? '',
      skipEmailVerification: false,
    })),
  };
}
