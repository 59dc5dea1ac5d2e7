// Fulcio's REST API v2 as JSON (grpc-gateway over fulcio.proto): the request body of
// POST /api/v2/signingCert read the way protojson reads it (lowerCamelCase or snake_case names,
// standard or URL-safe base64, unknown fields ignored), and the bodies the CA answers with. Field
// names and shapes: design/notes/fulcio-private-ca.md §1.
import { AirlockError } from '../errors.ts';

export const SIGNING_CERT_PATH = '/api/v2/signingCert';
export const TRUST_BUNDLE_PATH = '/api/v2/trustBundle';
export const CONFIGURATION_PATH = '/api/v2/configuration';

/** What a client asks for: a token, and a key with its proof of possession or a CSR. */
export type SigningCertRequest =
  | {
      readonly token: string;
      readonly kind: 'public-key';
      /** PEM or DER SubjectPublicKeyInfo, as sent (publicKey.content). */
      readonly publicKey: string;
      readonly proofOfPossession: Uint8Array;
    }
  | { readonly token: string; readonly kind: 'csr'; /** base64 of the PEM text */ readonly csr: string };

/** gRPC status codes Fulcio's errors carry in their JSON body. */
export const GRPC_CODE = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

function malformed(message: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', message);
}

function field(obj: Record<string, unknown>, camel: string, snake: string): unknown {
  return obj[camel] ?? obj[snake];
}

function objectAt(value: unknown, what: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw malformed(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function stringAt(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw malformed(`${what} must be a string`);
  return value;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** protojson bytes: standard or URL-safe alphabet, padded or not. */
export function protoBytes(text: string, what: string): Uint8Array {
  if (!BASE64.test(text)) throw malformed(`${what} is not base64`);
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The bearer token of an Authorization header, when there is one (the body's token wins). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Reads a CreateSigningCertificateRequest; `headerToken` is the Authorization header's, if any. */
export function parseSigningCertRequest(body: string, headerToken: string | undefined): SigningCertRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw malformed('the request body is not JSON');
  }
  const root = objectAt(json, 'the request body') ?? {};
  const credentials = objectAt(root.credentials, 'credentials');
  const token =
    stringAt(credentials && field(credentials, 'oidcIdentityToken', 'oidc_identity_token'), 'oidcIdentityToken') ??
    headerToken;
  if (token === undefined) {
    throw new AirlockError('E_OIDC_TOKEN', 'no identity token: give credentials.oidcIdentityToken or a Bearer header');
  }
  const keyRequest = objectAt(field(root, 'publicKeyRequest', 'public_key_request'), 'publicKeyRequest');
  const csr = stringAt(field(root, 'certificateSigningRequest', 'certificate_signing_request'), 'the CSR');
  if (keyRequest && csr !== undefined) throw malformed('give publicKeyRequest or certificateSigningRequest, not both');
  if (csr !== undefined) return { token, kind: 'csr', csr };
  if (!keyRequest) throw malformed('the request has neither publicKeyRequest nor certificateSigningRequest');
  const publicKey = objectAt(field(keyRequest, 'publicKey', 'public_key'), 'publicKeyRequest.publicKey');
  const content = stringAt(publicKey?.content, 'publicKey.content');
  if (content === undefined) throw new AirlockError('E_CA_KEY', 'the request has no public key (publicKey.content)');
  const proof = stringAt(field(keyRequest, 'proofOfPossession', 'proof_of_possession'), 'proofOfPossession');
  if (proof === undefined) throw new AirlockError('E_CA_PROOF', 'the request has no proof of possession');
  return { token, kind: 'public-key', publicKey: content, proofOfPossession: protoBytes(proof, 'proofOfPossession') };
}

/**
 * The answer without a CT log: the detached form with an empty SCT, as Fulcio answers when run with no
 * CT log (note §1, pitfall 4). The chain is leaf first, each PEM trimmed as Fulcio trims it.
 */
export function signingCertResponse(chainPem: readonly string[]): string {
  const certificates = chainPem.map((p) => p.trim());
  return JSON.stringify({ signedCertificateDetachedSct: { chain: { certificates }, signedCertificateTimestamp: '' } });
}

/** GET /api/v2/trustBundle: the issuing CA … root, no leaf, each PEM with its trailing newline. */
export function trustBundleResponse(caChainPem: readonly string[]): string {
  return JSON.stringify({ chains: [{ certificates: caChainPem.map((p) => `${p.trim()}\n`) }] });
}

/** A google.rpc.Status body, as grpc-gateway writes Fulcio's errors. */
export function errorBody(code: number, message: string): string {
  return JSON.stringify({ code, message, details: [] });
}
