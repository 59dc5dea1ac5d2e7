// `airlock ca serve`'s HTTP API: Fulcio's REST API v2 as sigstore-js, sigstore-go and cosign call it
// (POST /api/v2/signingCert, GET /api/v2/trustBundle, GET /api/v2/configuration), answering 200 with
// Fulcio's JSON and failing with Fulcio's status codes and google.rpc.Status bodies (note §1), plus
// /healthz and /metrics. Every token problem is a 400, never a 401/403, as Fulcio answers since 2023.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CertificateAuthority } from '../ca/authority.ts';
import {
  bearerToken,
  CONFIGURATION_PATH,
  errorBody,
  GRPC_CODE,
  parseSigningCertRequest,
  SIGNING_CERT_PATH,
  signingCertResponse,
  TRUST_BUNDLE_PATH,
  trustBundleResponse,
} from '../ca/fulcio-api.ts';
import { type AirlockError, type ErrorCode, isAirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import {
  answeredRequestEvent,
  failedRequestEvent,
  HttpError,
  readBody,
  requestHandler,
  requestPath,
  type RequestSteps,
  type Routed,
} from './http-io.ts';
import { countHttpRequests, Metrics, MILLISECOND_BUCKETS } from './metrics.ts';

export interface CaServerOptions {
  readonly authority: CertificateAuthority;
  /** The /api/v2/configuration body (the issuers the CA accepts tokens from). */
  readonly configuration: unknown;
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  readonly metrics?: Metrics;
}

/** Fulcio caps bodies at 4 MiB; a request is a token and a key, a few KiB, so far less is plenty. */
export const MAX_SIGNING_CERT_BODY = 256 * 1024;

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

/** Refusals the client caused: Fulcio answers each with 400 INVALID_ARGUMENT. */
const CLIENT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'E_OIDC_TOKEN',
  'E_CA_KEY',
  'E_CA_PROOF',
  'E_INPUT_MALFORMED',
  'E_USAGE',
]);

/** Fulcio's message for a refused token, which clients show; ours follows it with the reason. */
const TOKEN_MESSAGE = 'There was an error processing the identity token';

/** The 400's message: Fulcio's words first (request.ts uses them as its messages), then why. */
function clientMessage(err: AirlockError): string {
  if (err.code === 'E_OIDC_TOKEN') return `${TOKEN_MESSAGE}: ${err.message}`;
  const reason = err.details?.reason;
  return typeof reason === 'string' ? `${err.message} (${bounded(reason)})` : err.message;
}

export function caMetrics(): Metrics {
  const metrics = new Metrics();
  metrics.counter('airlock_ca_certificates_issued_total', 'Certificates issued, by OIDC issuer.');
  metrics.counter('airlock_ca_refused_total', 'Certificate requests refused, by error code.');
  metrics.histogram(
    'airlock_ca_issue_seconds',
    'Time to answer a signing-certificate request: token, proof, signature and audit record.',
    MILLISECOND_BUCKETS,
  );
  countHttpRequests(metrics);
  return metrics;
}

export function createCaHandler(options: CaServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return requestHandler(new CaApi(options));
}

/** An error as Fulcio's gateway answers it: the HTTP status and the gRPC code of its body. */
function statusOf(err: unknown): { status: number; grpc: number; message: string; headers?: Record<string, string> } {
  if (err instanceof HttpError) {
    const grpc = err.status === 404 ? GRPC_CODE.NOT_FOUND : err.status === 405 ? GRPC_CODE.UNIMPLEMENTED : 3;
    return { status: err.status, grpc, message: err.message, headers: { ...err.headers } };
  }
  if (isAirlockError(err) && err.code === 'E_RATE_LIMITED') {
    const retry = String(err.details?.retryAfterSeconds ?? 60);
    return { status: 429, grpc: GRPC_CODE.RESOURCE_EXHAUSTED, message: err.message, headers: { 'retry-after': retry } };
  }
  if (isAirlockError(err) && CLIENT_ERRORS.has(err.code)) {
    return { status: 400, grpc: GRPC_CODE.INVALID_ARGUMENT, message: clientMessage(err) };
  }
  // The CA key, the HSM or the audit trail failed: the operator reads why in the logs.
  return { status: 500, grpc: GRPC_CODE.INTERNAL, message: 'error communicating with CA backend' };
}

class CaApi implements RequestSteps {
  readonly #options: CaServerOptions;
  readonly #metrics: Metrics;
  readonly #trustBundle: string;
  readonly #configuration: string;

  constructor(options: CaServerOptions) {
    this.#options = options;
    this.#metrics = options.metrics ?? caMetrics();
    this.#trustBundle = trustBundleResponse(options.authority.chainPem);
    this.#configuration = JSON.stringify(options.configuration);
  }

  async route(req: IncomingMessage, res: ServerResponse): Promise<Routed> {
    const path = requestPath(req);
    if (path === SIGNING_CERT_PATH) return this.#signingCert(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, 'E_USAGE', `${req.method} is not served here`, { headers: { allow: 'GET, HEAD' } });
    const body = this.#readOnly(path);
    if (body === undefined) {
      const v1 = path.startsWith('/api/v1/');
      throw new HttpError(404, 'E_INPUT_MISSING', v1 ? 'Fulcio API v1 is not served: use /api/v2' : 'Not Found');
    }
    const type = path === '/metrics' ? 'text/plain; version=0.0.4' : 'application/json';
    res.writeHead(200, { ...JSON_HEADERS, 'content-type': type }).end(body);
    return { route: path.slice(path.lastIndexOf('/') + 1) };
  }

  #readOnly(path: string): string | undefined {
    if (path === TRUST_BUNDLE_PATH) return this.#trustBundle;
    if (path === CONFIGURATION_PATH) return this.#configuration;
    if (path === '/metrics') return this.#metrics.render();
    if (path === '/healthz') return JSON.stringify({ status: 'ok' });
    return undefined;
  }

  async #signingCert(req: IncomingMessage, res: ServerResponse): Promise<Routed> {
    if (req.method !== 'POST')
      throw new HttpError(405, 'E_USAGE', 'POST a CreateSigningCertificateRequest here', {
        headers: { allow: 'POST' },
      });
    const body = await readBody(req, MAX_SIGNING_CERT_BODY);
    const header = req.headers.authorization;
    const request = parseSigningCertRequest(body, bearerToken(Array.isArray(header) ? header[0] : header));
    const issued = await this.#options.authority.issue(request);
    res.writeHead(200, JSON_HEADERS).end(signingCertResponse(issued.chainPem));
    this.#metrics.inc('airlock_ca_certificates_issued_total', { issuer: issued.principal.issuer });
    const { san, issuer } = issued.principal;
    return { route: 'signingCert', extra: { san: san.value, issuer, serial: issued.serialHex, request: request.kind } };
  }

  #count(route: string, status: number, started: number): void {
    this.#metrics.inc('airlock_http_requests_total', { route, status: String(status) });
    if (route === 'signingCert')
      this.#metrics.observe('airlock_ca_issue_seconds', (performance.now() - started) / 1000);
  }

  answered(req: IncomingMessage, res: ServerResponse, routed: Routed, started: number): void {
    this.#count(routed.route, res.statusCode, started);
    this.#options.log(answeredRequestEvent(req, res, started, routed.extra, { route: routed.route }));
  }

  failed(req: IncomingMessage, res: ServerResponse, err: unknown, started: number): void {
    const { status, grpc, message, headers } = statusOf(err);
    if (!res.headersSent) res.writeHead(status, { ...JSON_HEADERS, ...headers }).end(errorBody(grpc, message));
    else res.destroy();
    const code = err instanceof HttpError || isAirlockError(err) ? err.code : 'E_INTERNAL';
    let route = 'error';
    try {
      if (requestPath(req) === SIGNING_CERT_PATH) route = 'signingCert';
    } catch {
      // an unreadable target is counted as an error
    }
    if (route === 'signingCert') this.#metrics.inc('airlock_ca_refused_total', { code });
    this.#count(route, status, started);
    this.#options.log(failedRequestEvent(req, status, started, code, err));
  }
}
