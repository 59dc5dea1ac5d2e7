// jose's failures as reasons a user can act on. jose's own messages are generic ("signature
// verification failed") and its errors carry the claims they looked at, so none of them is passed on,
// not even as a cause: each known kind is worded here from its code, and anything else is one fixed
// sentence. The header is decoded again (unverified) only to name the algorithm and key id.
import { decodeProtectedHeader, errors, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { AirlockError } from '../../errors.ts';
import { boundedList, bounded } from '../../text.ts';
import { tokenRefused } from './claims.ts';
import { ALLOWED_ALGORITHMS, type OidcIssuer } from './jwks.ts';

export interface RefusalContext {
  readonly issuer: OidcIssuer;
  readonly now: Date;
  readonly skew: number;
}

/** A NumericDate as an instant, or the number itself when it is no instant a Date can hold. */
export function timeOf(seconds: unknown): string {
  const date = typeof seconds === 'number' ? new Date(seconds * 1000) : undefined;
  return date !== undefined && Number.isFinite(date.getTime()) ? date.toISOString() : bounded(String(seconds), 32);
}

function headerOf(token: string): ProtectedHeaderParameters {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return {};
  }
}

function quoted(value: unknown): string {
  return typeof value === 'string' ? `"${bounded(value, 128)}"` : 'none';
}

export function joseRefusal(err: unknown, token: string, context: RefusalContext): AirlockError {
  const { alg, kid, crit } = headerOf(token);
  const { url } = context.issuer;
  if (err instanceof errors.JOSENotSupported && Array.isArray(crit))
    return tokenRefused('the token has critical header parameters ("crit") this CA does not process');
  if (err instanceof errors.JWTExpired || err instanceof errors.JWTClaimValidationFailed)
    return claimRefusal(err, context);
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return tokenRefused(`algorithm ${quoted(alg)} is not allowed (allowed: ${ALLOWED_ALGORITHMS.join(', ')})`);
  if (err instanceof errors.JWKSNoMatchingKey)
    return tokenRefused(
      kid === undefined
        ? `the token names no key ("kid") and no key in the JWKS of ${bounded(url)} fits ${quoted(alg)}`
        : `no key with kid ${quoted(kid)} for ${quoted(alg)} in the JWKS of ${bounded(url)}; ` +
            'the issuer may have rotated its keys: export its JWKS again',
    );
  if (err instanceof errors.JWKSMultipleMatchingKeys)
    return tokenRefused(`the token names no key ("kid") and several keys in the JWKS of ${bounded(url)} fit it`);
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return tokenRefused(`the signature does not verify with key ${quoted(kid)} of ${bounded(url)}`);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return tokenRefused('not a well-formed signed JWT (compact JWS with a JSON claims set)');
  return tokenRefused('the token could not be verified');
}

function claimRefusal(err: errors.JWTExpired | errors.JWTClaimValidationFailed, context: RefusalContext): AirlockError {
  const { claim, reason } = err;
  const payload: JWTPayload = err.payload;
  const now = context.now.toISOString();
  if (reason === 'missing') return tokenRefused(`the token has no "${bounded(claim)}" claim`);
  if (reason === 'invalid') return tokenRefused(`claim "${bounded(claim)}" is not a number of seconds`);
  switch (claim) {
    case 'exp':
      return tokenRefused(`the token expired at ${timeOf(payload.exp)} (now ${now})`);
    case 'nbf':
      return tokenRefused(
        `the token is not valid before ${timeOf(payload.nbf)} (now ${now}, ${context.skew} s of clock skew allowed)`,
      );
    case 'aud': {
      const aud = Array.isArray(payload.aud) ? payload.aud.map(String) : [String(payload.aud)];
      return tokenRefused(`audience ${boundedList(aud)} does not include "${bounded(context.issuer.audience)}"`);
    }
    case 'iss':
      return tokenRefused(`issuer ${quoted(payload.iss)} is not "${bounded(context.issuer.url)}"`);
    default:
      return tokenRefused(`claim "${bounded(claim)}" failed its check`);
  }
}
