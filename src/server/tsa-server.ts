// `airlock tsa serve`'s HTTP API: RFC 3161 §3.4 (time-stamp protocol via HTTP). A POST of a DER
// TimeStampReq as application/timestamp-query, to `/api/v1/timestamp` as Sigstore's timestamp-authority
// serves it or to any other path (clients post to the URL they were given), is answered with the
// TimeStampResp as application/timestamp-reply. GET /api/v1/timestamp/certchain returns the chain as
// PEM, as Sigstore's does; plus /healthz and /metrics. Sigstore's JSON request form is taken too
// (tsa-json-request.ts), so @sigstore/sign's TSA witness can use it.
//
// The query is parsed here before openssl sees it, so a body that is not one is the client's 400, and
// an openssl failure is the server's 500, logged. At most `maxActive` openssl processes run at once;
// `maxQueued` more wait, and past that a request is refused with 503 rather than queued without bound.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AsnParser } from '@peculiar/asn1-schema';
import { PKIStatus, TimeStampReq, TimeStampResp } from '@peculiar/asn1-tsp';
import { fromBER } from 'asn1js';
import { isAirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import {
  answeredRequestEvent,
  failedRequestEvent,
  HttpError,
  readBodyBytes,
  requestHandler,
  requestPath,
  type RequestSteps,
  type Routed,
} from './http-io.ts';
import { countHttpRequests, Metrics } from './metrics.ts';
import { queryFromJsonRequest } from './tsa-json-request.ts';
import type { Timestamper } from './tsa-openssl.ts';

/** A query is ~100 bytes (an imprint, a nonce, a policy, extensions); anything far larger is not one. */
export const MAX_QUERY_BYTES = 64 * 1024;
export const QUERY_CONTENT_TYPE = 'application/timestamp-query';
export const REPLY_CONTENT_TYPE = 'application/timestamp-reply';
export const CERTCHAIN_PATH = '/api/v1/timestamp/certchain';

export interface TsaServerOptions {
  readonly timestamper: Timestamper;
  /** The chain as PEM, TSA certificate first, served at /api/v1/timestamp/certchain. */
  readonly chainPem: readonly string[];
  /** openssl processes at once. */
  readonly maxActive: number;
  /** Requests waiting for one, beyond which 503. */
  readonly maxQueued: number;
  /** One structured event per request (the CLI writes them as JSON lines). */
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  /** Served at /metrics (Prometheus text); a fresh set when not given. */
  readonly metrics?: Metrics;
}

/** What a TSA's operator watches: replies by PKIStatus, openssl failures, time to answer, the queue. */
function tsaMetrics(metrics: Metrics, gate: Gate): Metrics {
  metrics.counter('airlock_tsa_replies_total', 'Timestamp replies sent, by PKIStatus (granted, rejection, ...).');
  metrics.counter('airlock_tsa_failures_total', 'Queries openssl could not answer (500), see the log.');
  metrics.histogram(
    'airlock_tsa_reply_seconds',
    'Time to answer a timestamp query, queueing and openssl included.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  metrics.gauge('airlock_tsa_openssl_active', 'openssl ts -reply processes running.', () => gate.active);
  metrics.gauge('airlock_tsa_queued', 'Queries waiting for an openssl process.', () => gate.waiting);
  countHttpRequests(metrics);
  return metrics;
}

/** At most `max` holders at once, `queue` more waiting in order; past that `enter` refuses. */
class Gate {
  active = 0;
  readonly #max: number;
  readonly #queue: number;
  readonly #waiters: Array<() => void> = [];

  constructor(max: number, queue: number) {
    this.#max = Math.max(1, max);
    this.#queue = Math.max(0, queue);
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.#max) {
      if (this.#waiters.length >= this.#queue)
        throw new HttpError(503, 'E_UNAVAILABLE', 'the timestamp authority is busy; retry shortly', {
          headers: { 'retry-after': '1' },
        });
      await new Promise<void>((ok) => this.#waiters.push(ok));
    } else this.active++;
    try {
      return await work();
    } finally {
      // The place passes to the next waiter as it is, so none can jump the queue between turns.
      const next = this.#waiters.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** A DER TimeStampReq (RFC 3161 §2.4.1) of version 1 and nothing after it; 400 otherwise. */
function checkQuery(body: Uint8Array): void {
  const refuse = (why: string) =>
    new HttpError(400, 'E_INPUT_MALFORMED', `the body is not an RFC 3161 TimeStampReq: ${why}`);
  const { offset, result } = fromBER(body);
  if (offset === -1) throw refuse('not DER');
  if (offset !== body.byteLength) throw refuse(`${body.byteLength - offset} bytes after it`);
  let request: TimeStampReq;
  try {
    request = AsnParser.fromASN(result, TimeStampReq);
  } catch (err) {
    throw refuse(bounded((err as Error).message, 120));
  }
  if (request.version !== 1) throw refuse(`version ${request.version}, not 1`);
}

function replyStatus(reply: Uint8Array): string {
  try {
    // The names of RFC 3161 §2.4.2.
    const status = AsnParser.parse(reply, TimeStampResp).status.status;
    return PKIStatus[status] ?? String(status);
  } catch {
    return 'unreadable';
  }
}

export function createTsaHandler(options: TsaServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return requestHandler(new TsaApi(options));
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

/** The TSA's routes, and one log line and one count per request, whatever its outcome. */
class TsaApi implements RequestSteps {
  readonly #options: TsaServerOptions;
  readonly #metrics: Metrics;
  readonly #gate: Gate;

  constructor(options: TsaServerOptions) {
    this.#options = options;
    this.#gate = new Gate(options.maxActive, options.maxQueued);
    this.#metrics = tsaMetrics(options.metrics ?? new Metrics(), this.#gate);
  }

  route(req: IncomingMessage, res: ServerResponse): Routed | Promise<Routed> {
    const path = requestPath(req);
    if (req.method === 'POST') return this.#timestamp(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, 'E_USAGE', `${req.method} is not served here`, { headers: { allow: 'GET, POST' } });
    if (path === '/metrics') {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' })
        .end(this.#metrics.render());
      return { route: 'metrics' };
    }
    if (path === '/healthz') {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ status: 'ok', active: this.#gate.active, queued: this.#gate.waiting }));
      return { route: 'healthz' };
    }
    if (path === CERTCHAIN_PATH) {
      res.writeHead(200, { 'content-type': 'application/pem-certificate-chain' }).end(this.#options.chainPem.join(''));
      return { route: 'certchain' };
    }
    throw new HttpError(404, 'E_INPUT_MISSING', `no such resource: ${bounded(path)}; POST timestamp queries`);
  }

  async #timestamp(req: IncomingMessage, res: ServerResponse): Promise<Routed> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== QUERY_CONTENT_TYPE && type !== 'application/json')
      throw new HttpError(
        415,
        'E_INPUT_MALFORMED',
        `POST a timestamp query as ${QUERY_CONTENT_TYPE} (or Sigstore's JSON request as application/json)`,
      );
    const body = await readBodyBytes(req, MAX_QUERY_BYTES);
    const query = type === 'application/json' ? queryFromJsonRequest(body) : body;
    checkQuery(query);
    const reply = await this.#gate.run(() => this.#options.timestamper.reply(query));
    const status = replyStatus(reply);
    res.writeHead(200, { 'content-type': REPLY_CONTENT_TYPE, 'cache-control': 'no-store' }).end(reply);
    this.#metrics.inc('airlock_tsa_replies_total', { status });
    return { route: 'timestamp', extra: { tsa_status: status } };
  }

  #count(route: string, status: number, started: number): void {
    this.#metrics.inc('airlock_http_requests_total', { route, status: String(status) });
    if (route === 'timestamp') this.#metrics.observe('airlock_tsa_reply_seconds', (performance.now() - started) / 1000);
  }

  answered(req: IncomingMessage, res: ServerResponse, { route, extra }: Routed, started: number): void {
    this.#count(route, res.statusCode, started);
    this.#options.log(answeredRequestEvent(req, res, started, extra));
  }

  failed(req: IncomingMessage, res: ServerResponse, err: unknown, started: number): void {
    const known = err instanceof HttpError;
    const status = known ? err.status : 500;
    // openssl's reasons (its stderr) are the operator's to read in the log, not the client's.
    const message = known ? err.message : 'the timestamp authority could not answer; see its log';
    if (!res.headersSent) res.writeHead(status, { ...TEXT, ...(known ? err.headers : {}) }).end(`${message}\n`);
    else res.destroy();
    if (!known) this.#metrics.inc('airlock_tsa_failures_total');
    const code = known || isAirlockError(err) ? err.code : 'E_INTERNAL';
    this.#count(req.method === 'POST' ? 'timestamp' : 'error', status, started);
    const event = failedRequestEvent(req, status, started, code, err);
    this.#options.log({ ...event, error: bounded(String(event.error), 1000) });
  }
}
