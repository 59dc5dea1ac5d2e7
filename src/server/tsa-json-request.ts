// Sigstore's timestamp-authority also takes its request as JSON (`POST /api/v1/timestamp`,
// `Content-Type: application/json`): `{artifactHash: base64, hashAlgorithm: "sha256"|"sha384"|"sha512",
// nonce?, certificates?, tsaPolicyOID?}`. @sigstore/sign's TSAWitness sends only that form, so the
// server turns it into the RFC 3161 query openssl answers; the reply is the same DER TimeStampResp.
import { randomBytes } from 'node:crypto';
import { NONCE_BYTES, type TimestampHashAlgorithm, timestampQueryFor } from '../sigstore/tsa.ts';
import { HttpError } from './http-io.ts';

const DIGEST_BYTES: Record<TimestampHashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

function refuse(why: string): HttpError {
  return new HttpError(400, 'E_INPUT_MALFORMED', `the body is not a timestamp request: ${why}`);
}

/** The DER query for a JSON request; the nonce is ours (the JSON one, a number, may not survive JSON). */
export function queryFromJsonRequest(body: Uint8Array, random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw refuse('not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw refuse('not a JSON object');
  const { artifactHash, hashAlgorithm = 'sha256' } = json as Record<string, unknown>;
  if (typeof hashAlgorithm !== 'string' || !Object.hasOwn(DIGEST_BYTES, hashAlgorithm))
    throw refuse('hashAlgorithm must be sha256, sha384 or sha512');
  const algorithm = hashAlgorithm as TimestampHashAlgorithm;
  if (typeof artifactHash !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(artifactHash))
    throw refuse('artifactHash must be base64');
  const digest = Buffer.from(artifactHash, 'base64');
  if (digest.length !== DIGEST_BYTES[algorithm])
    throw refuse(`artifactHash is ${digest.length} bytes, a ${algorithm} digest is ${DIGEST_BYTES[algorithm]}`);
  return timestampQueryFor(digest, algorithm, random(NONCE_BYTES));
}
