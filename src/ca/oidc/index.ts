// OIDC identity tokens verified offline and mapped to Fulcio principals: what `airlock ca serve` wires
// behind `--oidc-issuer` and `/api/v2/configuration`.
export { issuerConfiguration, type FulcioConfiguration, type FulcioOidcIssuer } from './configuration.ts';
export { parseOidcIssuerSpec, type OidcIssuerSpec } from './issuer-spec.ts';
export {
  ALLOWED_ALGORITHMS,
  type BoundedFileReader,
  loadOidcIssuers,
  MAX_JWKS_BYTES,
  type OidcIssuer,
  parseJwks,
} from './jwks.ts';
export {
  createTokenVerifier,
  DEFAULT_MAX_SKEW_SECONDS,
  MAX_TOKEN_CHARS,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './token-verifier.ts';
export { ReloadingTokenVerifier, type ReloadOutcome } from './reloading-verifier.ts';
