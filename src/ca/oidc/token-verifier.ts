// Identity tokens verified offline, in Fulcio's order (pkg/identity/issuerpool.go; note §4): the shape
// before anything is decoded, then `iss` read unverified only to choose the issuer, then the signature
// against that issuer's keys alone with an allowlist of algorithms, then `iss`, `aud` and the times,
// then the claims the issuer type needs. Every refusal is E_OIDC_TOKEN with a reason that names what
// to fix and never carries the token: it is a bearer credential until it expires.
import { createLocalJWKSet, decodeJwt, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { boundedList, bounded } from '../../text.ts';
import type { Principal } from '../identity.ts';
import { tokenRefused } from './claims.ts';
import { joseRefusal, type RefusalContext, timeOf } from './jose-refusal.ts';
import { ALLOWED_ALGORITHMS, type OidcIssuer } from './jwks.ts';
import { principalFromClaims } from './principals.ts';

/** Far above any real token (a GitHub one is about 1.5 KiB) and bounded before anything is split or decoded. */
export const MAX_TOKEN_CHARS = 64 * 1024;

/**
 * Clock skew allowed for `nbf` and `iat`. Kubernetes sets both to the second it issues a token, so a
 * CA whose clock runs a little behind the API server would refuse fresh tokens; a minute covers hosts
 * kept in step by NTP. Less than go-oidc's five minutes for `nbf`: the gap's hosts share a time source,
 * and a token should not be usable long before its issuer meant it to be. `exp` gets none, as in go-oidc.
 */
export const DEFAULT_MAX_SKEW_SECONDS = 60;

export interface TokenVerifier {
  /** The principal a valid token names, or E_OIDC_TOKEN. */
  verify(token: string, now: Date): Promise<Principal>;
}

export interface TokenVerifierOptions {
  readonly issuers: readonly OidcIssuer[];
  readonly maxSkewSeconds?: number;
}

interface KnownIssuer {
  readonly issuer: OidcIssuer;
  readonly keys: JWTVerifyGetKey;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const skew = options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  if (!Number.isInteger(skew) || skew < 0) throw new RangeError('maxSkewSeconds must be a whole number >= 0');
  const known = new Map<string, KnownIssuer>(
    options.issuers.map((issuer) => [issuer.url, { issuer, keys: createLocalJWKSet(issuer.jwks) }]),
  );
  if (known.size !== options.issuers.length) throw new RangeError('an issuer URL is configured twice');
  return {
    async verify(token, now) {
      checkShape(token);
      const iss = unverifiedIssuer(token);
      const entry = known.get(iss);
      if (entry === undefined) throw unknownIssuer(iss, [...known.keys()]);
      const claims = await verifiedClaims(token, entry, { issuer: entry.issuer, now, skew });
      checkTimes(claims, now, skew);
      return principalFromClaims(entry.issuer, claims);
    },
  };
}

/** GHSA-f83f-xpx7-ffpw: a huge token of dots made Fulcio split it into millions of parts. */
function checkShape(token: string): void {
  if (typeof token !== 'string' || token === '') throw tokenRefused('no token was given');
  if (token.length > MAX_TOKEN_CHARS)
    throw tokenRefused(`the token is ${token.length} characters; at most ${MAX_TOKEN_CHARS} are read`);
  let dots = 0;
  for (let i = token.indexOf('.'); i >= 0 && dots <= 2; i = token.indexOf('.', i + 1)) dots++;
  if (dots !== 2) throw tokenRefused('not a signed JWT (header.payload.signature, exactly two dots)');
}

function unverifiedIssuer(token: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw tokenRefused('not a JWT: its payload is not base64url-encoded JSON');
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') throw tokenRefused('the token has no "iss" claim');
  return payload.iss;
}

function unknownIssuer(iss: string, configured: readonly string[]): Error {
  const near = configured.find((url) => url.replace(/\/$/, '') === iss.replace(/\/$/, ''));
  const hint = near === undefined ? '' : ` (issuer URLs are compared exactly: "${bounded(near)}" is configured)`;
  return tokenRefused(
    `issuer "${bounded(iss)}" is not one this CA trusts${hint}; known: ${boundedList([...configured])}`,
  );
}

async function verifiedClaims(token: string, entry: KnownIssuer, context: RefusalContext): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, entry.keys, {
      algorithms: [...ALLOWED_ALGORITHMS],
      issuer: entry.issuer.url,
      audience: entry.issuer.audience,
      requiredClaims: ['exp'],
      clockTolerance: context.skew,
      currentDate: context.now,
    });
    return payload;
  } catch (err) {
    throw joseRefusal(err, token, context);
  }
}

/** jose applies one tolerance to `nbf` and `exp`: `exp` is held here to none, and `iat` to the skew. */
function checkTimes(claims: JWTPayload, now: Date, skew: number): void {
  // JSON's 1e400 reads as Infinity: a token that never expires (or was never issued) is no token.
  for (const name of ['exp', 'nbf', 'iat'] as const) {
    const value = claims[name];
    if (value !== undefined && !Number.isFinite(value)) throw tokenRefused(`"${name}" is not a finite NumericDate`);
  }
  const seconds = Math.floor(now.getTime() / 1000);
  if (claims.exp !== undefined && claims.exp <= seconds)
    throw tokenRefused(`the token expired at ${timeOf(claims.exp)} (now ${now.toISOString()})`);
  if (claims.iat !== undefined && claims.iat > seconds + skew)
    throw tokenRefused(
      `the token was issued at ${timeOf(claims.iat)}, more than ${skew} s after now (${now.toISOString()}); ` +
        "check the issuer's and the CA's clocks",
    );
}
