// Keyless signing: a short-lived certificate from a Fulcio-compatible CA (Fulcio, `airlock ca serve`)
// for an ephemeral P-256 key that lives only in this process's memory, bound to the identity in an
// OIDC token. The exchange is @sigstore/sign's own FulcioSigner (the real client is the test of our
// CA), with airlock's key-object signer as its key holder.
//
// FulcioSigner.sign(data) signs the token's challenge claim, asks the CA, then signs `data` in
// memory. It is called once, over nothing, only for the certificate; the artifact is then signed by
// airlock's normal path with the same key, which streams large files and signs digests (sign-blob.ts)
// and lets one certificate cover every signature of a command (an image and its attestations).
//
// Secrets: @sigstore/sign puts the whole token into some error messages ("invalid identity token:
// <token>"), and a CA may echo it. No library error is passed on, as message or as cause: failures are
// rebuilt from the HTTP status and the CA's own message, with the token cut out.
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import type { FulcioSignerOptions } from '@sigstore/sign';
import { decodeJwt, type JWTPayload } from 'jose';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { publicKeyPem } from '../crypto/keys.ts';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { SERVICE_TIMEOUT_MS } from '../net/http/exchange.ts';
import { bounded } from '../text.ts';

export interface KeylessOptions {
  /** The CA's base URL; requests go to `${fulcioUrl}/api/v2/signingCert`. */
  readonly fulcioUrl: string;
  /** The OIDC identity token (a JWS compact JWT). Never logged, never in a message. */
  readonly identityToken: string;
  readonly now: Date;
  readonly timeoutMs?: number;
}

export interface KeylessSigning {
  /** The ephemeral key's signer; its public key is the certificate's. */
  readonly signer: Signer;
  /** The leaf the CA issued, which bundles carry instead of a key hint. */
  readonly certificate: X509Certificate;
  /** The certificate's SAN as node prints it, e.g. `URI:https://…` or `email:…`. */
  readonly identity: string;
}

const MAX_ISSUANCE_DELAY_MS = 60_000;

/** Fulcio and sigstore-js accept a boolean true or the strings Go's JSON decoding of it produces. */
const isVerified = (value: unknown) => value === true || value === 'true' || value === 'True';

function decodeToken(token: string): JWTPayload {
  try {
    return decodeJwt(token);
  } catch {
    throw new AirlockError('E_USAGE', 'the identity token is not a JWT (three base64url parts, a JSON payload)', {
      hint: 'pass the OIDC ID token itself (--identity-token @FILE), not an access token or a file of several',
    });
  }
}

/**
 * The claim the proof of possession signs, as sigstore-js and sigstore-go pick it: `email` when the
 * token has one (refused unless `email_verified` is true, as both clients refuse it), else `sub`.
 */
export function challengeClaim(token: string, now: Date): string {
  const claims = decodeToken(token);
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= now.getTime()) {
    throw new AirlockError(
      'E_OIDC_TOKEN',
      `the identity token expired at ${new Date(claims.exp * 1000).toISOString()}`,
      {
        hint: 'get a fresh token: CI tokens live minutes',
      },
    );
  }
  const { email, sub } = claims as { email?: unknown; sub?: unknown };
  if (email !== undefined && email !== null && email !== '') {
    if (typeof email !== 'string')
      throw new AirlockError('E_OIDC_TOKEN', "the identity token's email claim is not a string");
    if (!isVerified(claims.email_verified)) {
      throw new AirlockError(
        'E_OIDC_TOKEN',
        `the identity token names the email ${bounded(email)} but its issuer did not verify it ` +
          '(email_verified is not true)',
        { hint: 'a CA certifies only verified emails; use a token whose issuer verified the address' },
      );
    }
    return email;
  }
  if (typeof sub !== 'string' || sub === '') {
    throw new AirlockError('E_OIDC_TOKEN', 'the identity token has neither an email nor a sub claim to certify');
  }
  return sub;
}

/** @sigstore/sign's Signer over airlock's: the key holder FulcioSigner signs the challenge with. */
function keyHolderFor(signer: Signer): NonNullable<FulcioSignerOptions['keyHolder']> {
  const pem = publicKeyPem(signer.publicKey);
  return {
    sign: async (data) => ({
      signature: Buffer.from(await signer.sign(data)),
      key: { $case: 'publicKey', publicKey: pem },
    }),
  };
}

/**
 * Asks the CA for a certificate over `signer`'s key; returns the leaf's PEM (FulcioSigner keeps only
 * the leaf: bundles carry no more, and verifiers take the rest of the chain from their trusted root).
 */
async function requestCertificate(signer: Signer, options: KeylessOptions): Promise<string> {
  const { FulcioSigner } = await import('@sigstore/sign');
  const token = options.identityToken;
  const fulcio = new FulcioSigner({
    fulcioBaseURL: options.fulcioUrl,
    identityProvider: { getToken: async () => token },
    keyHolder: keyHolderFor(signer),
    timeout: options.timeoutMs ?? SERVICE_TIMEOUT_MS,
    // FulcioSigner retries only 408, 429 and 5xx: a refused token is not asked twice.
    retry: { retries: 1, minTimeout: 500, maxTimeout: 2000 },
  });
  try {
    const signed = await fulcio.sign(Buffer.alloc(0));
    if (signed.key.$case !== 'x509Certificate') throw new Error('no certificate');
    return signed.key.certificate;
  } catch (err) {
    throw fulcioFailure(err, options.fulcioUrl, token);
  }
}

function causes(err: unknown): Array<Record<string, unknown>> {
  const chain: Array<Record<string, unknown>> = [];
  for (let e: unknown = err; typeof e === 'object' && e !== null && chain.length < 8; e = (e as Error).cause) {
    chain.push(e as Record<string, unknown>);
  }
  return chain;
}

/** Pieces of a token shorter than this are not worth hiding: any text has such runs by chance. */
const TOKEN_PIECE = 16;

/**
 * The CA's words without any piece of the token: a message may quote the token whole, one segment of it,
 * split across words or with its dots escaped. Every base64url run sharing TOKEN_PIECE characters with
 * the token is cut out.
 */
function redactToken(text: string, token: string): string {
  const whole = text.split(token).join('[token]');
  return whole.replace(new RegExp(`[A-Za-z0-9_-]{${TOKEN_PIECE},}`, 'g'), (run) => {
    for (let at = 0; at + TOKEN_PIECE <= run.length; at++)
      if (token.includes(run.slice(at, at + TOKEN_PIECE))) return '[token]';
    return run;
  });
}

/** An AirlockError for a failed exchange, from the status and the CA's own message: nothing else of the library's. */
export function fulcioFailure(err: unknown, url: string, token: string): AirlockError {
  const chain = causes(err);
  const http = chain.find((e) => typeof e.statusCode === 'number');
  if (http) {
    const status = http.statusCode as number;
    const said = redactToken(String(http.message ?? '').replace(/^\(\d+\) /, ''), token);
    const refused = `the certificate authority ${url} refused to issue a signing certificate`;
    const message = `${refused}: HTTP ${status}: ${bounded(said)}`;
    if (status === 429) return new AirlockError('E_RATE_LIMITED', message, { hint: 'retry later' });
    return new AirlockError('E_FULCIO', message, {
      hint:
        status === 400
          ? "the CA refused the token or the proof of possession: is the token's issuer configured there, " +
            "with audience 'sigstore' and the identity type whose claim (email, else sub) was signed?"
          : `is ${url} a Fulcio-compatible CA (POST /api/v2/signingCert)?`,
    });
  }
  const code = chain.map((e) => e.code).find((c) => typeof c === 'string' && /^E[A-Z0-9_]+$/.test(c));
  if (code !== undefined) {
    return new AirlockError('E_FULCIO', `could not reach the certificate authority ${url}: ${code as string}`, {
      hint:
        'keyless signing needs the CA while signing: point --fulcio-url at a reachable one ' +
        '(airlock ca serve inside the gap), or sign with --key',
    });
  }
  return new AirlockError('E_FULCIO', `the certificate authority ${url} did not answer with a signing certificate`);
}

/** The leaf, checked to certify this very key now: a wrong one would make bundles no one can verify. */
function checkedLeaf(pem: string, privateKey: KeyObject, url: string, now: Date): X509Certificate {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(pem);
  } catch {
    throw new AirlockError('E_FULCIO', `the certificate authority ${url} returned a certificate that cannot be parsed`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new AirlockError('E_FULCIO', `the certificate authority ${url} certified another key than the one sent`);
  }
  const from = new Date(leaf.validFrom);
  const to = new Date(leaf.validTo);
  // `now` is taken before the request, which may take its timeouts and a retry: a notBefore up to a
  // minute later is the exchange's own time, more is a CA clock ahead of ours.
  if (from.getTime() > now.getTime() + MAX_ISSUANCE_DELAY_MS || to.getTime() < now.getTime()) {
    throw new AirlockError(
      'E_FULCIO',
      `the certificate from ${url} is valid ${from.toISOString()} to ${to.toISOString()}, ` +
        `not now (${now.toISOString()})`,
      { hint: "check this machine's clock and the CA's: they must agree to the second" },
    );
  }
  return leaf;
}

/** A certificate for a fresh in-memory key: the key signs, the certificate goes in the bundle. */
export async function obtainSigningCertificate(options: KeylessOptions): Promise<KeylessSigning> {
  // Checked before any request: a token the CA cannot take is refused here, with a clear reason.
  challengeClaim(options.identityToken, options.now);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = createKeyObjectSigner(privateKey, 'ecdsa-sha2-256-nistp256', 'an ephemeral P-256 key');
  const leafPem = await requestCertificate(signer, options);
  const certificate = checkedLeaf(leafPem, privateKey, options.fulcioUrl, options.now);
  const identity = certificate.subjectAltName ?? '(no subject alternative name)';
  return {
    signer: { ...signer, description: `an ephemeral key certified for ${bounded(identity)}` },
    certificate,
    identity,
  };
}
