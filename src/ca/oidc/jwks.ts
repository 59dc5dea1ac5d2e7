// The JWKS files that stand in for OIDC discovery: the CA is offline, so each issuer's public keys are
// exported once (a Kubernetes cluster's `/openid/v1/jwks`, an IdP's `jwks_uri`) and named on the
// command line. A file is checked whole when the CA starts, so a mistake stops `ca serve` instead of
// refusing every token later: public signature keys only, of a type and size the token verifier
// accepts. Encryption keys (`use: enc`) that IdPs export beside their signing keys are left out.
import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';
import { AirlockError } from '../../errors.ts';
import { readFileBounded } from '../../files/read-file.ts';
import { bounded } from '../../text.ts';
import { parseOidcIssuerSpec, type OidcIssuerSpec } from './issuer-spec.ts';

/** An issuer with the keys its tokens are verified against. */
export interface OidcIssuer extends OidcIssuerSpec {
  readonly jwks: JSONWebKeySet;
}

/** Reads at most `maxBytes` of a file (more is an error); a parameter so loading is testable. */
export type BoundedFileReader = (path: string, maxBytes: number) => Promise<Uint8Array>;

/** A JWKS is a few keys; a megabyte is far past any real one and keeps a wrong file from filling memory. */
export const MAX_JWKS_BYTES = 1024 * 1024;
const MAX_KEYS = 100;
const MAX_KID = 256;
const MIN_RSA_BITS = 2048;

/** JWS algorithms per key type and curve: go-oidc's set (RS/PS/ES 256–512, EdDSA), never `none` or HS*. */
const ALGORITHMS_FOR = {
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'P-256': ['ES256'],
  'P-384': ['ES384'],
  'P-521': ['ES512'],
  Ed25519: ['EdDSA'],
} as const satisfies Record<string, readonly string[]>;
export const ALLOWED_ALGORITHMS: readonly string[] = Object.values(ALGORITHMS_FOR).flat();
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const defaultReader: BoundedFileReader = (path, maxBytes) => readFileBounded(path, maxBytes, 'a JWKS file');

/** Parses each `--oidc-issuer` value (or takes it parsed) and reads its JWKS; duplicate issuer URLs refused. */
export async function loadOidcIssuers(
  specs: readonly (string | OidcIssuerSpec)[],
  readFile: BoundedFileReader = defaultReader,
): Promise<OidcIssuer[]> {
  const parsed = specs.map((s) => (typeof s === 'string' ? parseOidcIssuerSpec(s) : s));
  const seen = new Set<string>();
  for (const { url } of parsed) {
    if (seen.has(url)) throw new AirlockError('E_USAGE', `--oidc-issuer ${bounded(url)} is given twice`);
    seen.add(url);
  }
  const issuers: OidcIssuer[] = [];
  for (const spec of parsed) {
    const bytes = await readFile(spec.jwksPath, MAX_JWKS_BYTES);
    issuers.push({ ...spec, jwks: parseJwks(bytes, spec.jwksPath) });
  }
  return issuers;
}

function malformed(path: string, reason: string, cause?: unknown): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${bounded(path)}: ${reason}`, {
    hint: 'a JWKS file is the issuer\'s public keys as its jwks_uri serves them: {"keys":[{...}]}',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The signing keys of a JWKS document, each checked; E_INPUT_MALFORMED naming `path` otherwise. */
export function parseJwks(bytes: Uint8Array, path: string): JSONWebKeySet {
  if (bytes.length > MAX_JWKS_BYTES) throw malformed(path, `more than ${MAX_JWKS_BYTES} bytes; not a JWKS`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw malformed(path, 'not JSON', err);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Array.isArray(keys))
    throw malformed(path, 'not a JWKS (an object with a "keys" array)');
  if (keys.length > MAX_KEYS) throw malformed(path, `${keys.length} keys; at most ${MAX_KEYS} are read`);
  const signing = keys.filter((jwk, i) => checkJwk(jwk, `${path}: key ${i}`));
  if (signing.length === 0) throw malformed(path, 'holds no signature key');
  const kids = signing.map((k) => k.kid).filter((kid) => kid !== undefined);
  const twice = kids.find((kid, i) => kids.indexOf(kid) !== i);
  if (twice !== undefined) throw malformed(path, `kid "${bounded(twice)}" names two keys`);
  return { keys: signing };
}

/** True for a usable public signature key, false for a key that is not for signatures; throws otherwise. */
function checkJwk(jwk: unknown, where: string): jwk is JWK {
  const fail = (reason: string, cause?: unknown) => malformed(where, reason, cause);
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw fail('not a JSON object');
  const key = jwk as Record<string, unknown>;
  if (key.kty === 'oct')
    throw fail('a symmetric key (kty "oct"): tokens are verified with public keys only, never a shared secret');
  if (PRIVATE_MEMBERS.some((m) => m in key)) throw fail('holds private key material; export the public keys only');
  if (key.kid !== undefined && (typeof key.kid !== 'string' || key.kid.length > MAX_KID || key.kid === ''))
    throw fail(`"kid" is not a string of 1 to ${MAX_KID} characters`);
  if (key.use === 'enc') return false;
  if (key.use !== undefined && key.use !== 'sig') throw fail(`"use" is ${bounded(JSON.stringify(key.use))}`);
  if (key.key_ops !== undefined && !(Array.isArray(key.key_ops) && key.key_ops.includes('verify'))) return false;
  const algorithms = algorithmsFor(key, fail);
  if (key.alg !== undefined && !algorithms.includes(key.alg as string))
    throw fail(`"alg" ${bounded(JSON.stringify(key.alg))} is not one of ${algorithms.join(', ')} for this key`);
  checkPublicKey(key, fail);
  return true;
}

function algorithmsFor(key: Record<string, unknown>, fail: (reason: string) => AirlockError): readonly string[] {
  if (key.kty === 'RSA') return ALGORITHMS_FOR.RSA;
  if (key.kty === 'EC' && (key.crv === 'P-256' || key.crv === 'P-384' || key.crv === 'P-521'))
    return ALGORITHMS_FOR[key.crv];
  if (key.kty === 'OKP' && key.crv === 'Ed25519') return ALGORITHMS_FOR.Ed25519;
  if (key.kty === 'EC' || key.kty === 'OKP')
    throw fail(`curve ${bounded(JSON.stringify(key.crv))} is not one of P-256, P-384, P-521 (EC) or Ed25519 (OKP)`);
  throw fail(`key type ${bounded(JSON.stringify(key.kty))} is not RSA, EC or OKP`);
}

function checkPublicKey(key: Record<string, unknown>, fail: (reason: string, cause?: unknown) => AirlockError): void {
  let bits: number | undefined;
  try {
    bits = createPublicKey({ key: key as JsonWebKeyInput['key'], format: 'jwk' }).asymmetricKeyDetails?.modulusLength;
  } catch (err) {
    throw fail('not a valid public key', err);
  }
  if (key.kty === 'RSA' && (bits === undefined || bits < MIN_RSA_BITS))
    throw fail(`an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are needed`);
}
