// Request plumbing for the registry API over node:http/node:https: keep-alive agents (a private CA is
// added to, not substituted for, the system roots, so storage redirects to public hosts still verify),
// an idle timeout on every socket, retries with backoff for the transient statuses the distribution
// spec names, bounded reads of JSON bodies, and a redirect policy that never leaks credentials.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import { VERSION } from '../../version.ts';
import { bulkGet } from './bulk-get.ts';
import { HttpFailure, idleTimeout } from './http-failure.ts';

export { HttpFailure } from './http-failure.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * - `none`: a 3xx is returned to the caller.
 * - `same-origin`: followed while it stays on the registry's origin (manifests, tags, referrers).
 * - `any-origin`: also to other hosts, for blob downloads, which registries commonly hand off to object
 *   storage (distribution spec, "Pulling blobs": 307). The bytes are digest-verified either way, and the
 *   Authorization header is dropped on leaving the origin: it is the registry's, not the storage's.
 */
export type RedirectPolicy = 'none' | 'same-origin' | 'any-origin';

export interface HttpRequest {
  readonly method: HttpMethod;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** A Readable or a BodyWriter is streamed and never retried; a Uint8Array may be re-sent. */
  readonly body?: Uint8Array | Readable | BodyWriter;
  /** Default: `same-origin` for GET/HEAD, `none` otherwise. */
  readonly redirects?: RedirectPolicy;
  /** Retry transient failures. Default: GET and HEAD only; callers opt in for idempotent writes. */
  readonly retry?: boolean;
  /** A large body is expected (a blob): a GET reads it with bulkGet rather than node:http. */
  readonly bulk?: boolean;
}

/**
 * A body its owner writes into the request itself: each write's callback then says when the socket
 * has taken that chunk, so its buffer can be reused without a copy (a piped Readable cannot say so).
 * Called once, with the request, when it is made.
 */
export type BodyWriter = (request: Writable) => void;

/** Whether a body can be sent again (on a retry, after a 401). */
export function replayableBody(body: HttpRequest['body']): boolean {
  return body === undefined || body instanceof Uint8Array;
}

/** A response body: node:http's IncomingMessage, or bulkGet's body. */
export type ResponseBody = Readable & { readonly complete: boolean };

export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects: relative Location and Link headers resolve against it. */
  readonly url: URL;
  readonly body: ResponseBody;
}

export interface HttpTransportOptions {
  /** PEM CA certificate(s) trusted in addition to the system roots. */
  readonly caPem?: string;
  /** Idle timeout: a socket with no traffic for this long fails the request. Default 60 s. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  readonly retries?: number;
  /** First backoff delay, doubled per retry. Default 500 ms. */
  readonly retryDelayMs?: number;
  /** Upper bound of any wait, including a server's Retry-After. Default 30 s. */
  readonly maxRetryDelayMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** Distribution spec, "Pushing a blob" errors: 502, 503 and 504 are temporary; other 5xx are terminal. 429 is RFC 6585 rate limiting. */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Bodies small enough to drain so the keep-alive socket is reused; larger ones cost a new connection instead. */
const DRAIN_LIMIT = 64 * 1024;

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Releases a response the caller does not read. */
export function discard(res: HttpResponse): void {
  if (res.body.readableEnded || res.body.destroyed) return;
  // `complete`: already received in full (always so for HEAD, whatever Content-Length says).
  const length = Number(res.headers['content-length'] ?? Number.NaN);
  if (res.body.complete || (Number.isFinite(length) && length <= DRAIN_LIMIT)) res.body.resume();
  else res.body.destroy();
}

/** Reads a whole body of at most `limit` bytes (manifests, indexes, error JSON, token responses). */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new HttpFailure('ETOOLARGE', `the response is ${declared} bytes, over the ${limit}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.body.destroy();
      throw new HttpFailure('ETOOLARGE', `the response exceeds the ${limit}-byte limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export class HttpTransport {
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #ca: readonly string[] | undefined;
  readonly #bulkSockets = new Set<Socket>();

  constructor(options: HttpTransportOptions = {}) {
    this.#ca = options.caPem ? [...rootCertificates, options.caPem] : undefined;
    this.#http = new HttpAgent({ keepAlive: true });
    this.#https = new HttpsAgent({ keepAlive: true, ...(this.#ca ? { ca: [...this.#ca] } : {}) });
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#retries = options.retries ?? 3;
    this.#retryDelayMs = options.retryDelayMs ?? 500;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const policy = request.redirects ?? (request.method === 'GET' || request.method === 'HEAD' ? 'same-origin' : 'none');
    const headers: Record<string, string> = { 'user-agent': `airlock/${VERSION}`, ...request.headers };
    let url = request.url;
    for (let hop = 0; ; hop++) {
      const res = await this.#sendWithRetries(request, url, headers);
      const location = res.headers.location;
      if (!REDIRECTS.has(res.status) || !location || policy === 'none') return res;
      discard(res);
      if (hop >= MAX_REDIRECTS) throw new HttpFailure('EREDIRECT', `more than ${MAX_REDIRECTS} redirects from ${request.url.origin}`);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new HttpFailure('EREDIRECT', `refusing a redirect to ${next.protocol} URL`);
      }
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        throw new HttpFailure('EREDIRECT', `refusing a redirect from HTTPS to plain HTTP (${next.origin})`);
      }
      if (next.origin !== url.origin) {
        if (policy !== 'any-origin') throw new HttpFailure('EREDIRECT', `refusing a redirect from ${url.origin} to another host (${next.origin})`);
        delete headers.authorization;
      }
      url = next;
    }
  }

  /** Releases keep-alive sockets and stops bulk downloads still in flight. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
    for (const socket of this.#bulkSockets) socket.destroy();
  }

  async #sendWithRetries(request: HttpRequest, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
    const replayable = replayableBody(request.body);
    const retry = replayable && (request.retry ?? (request.method === 'GET' || request.method === 'HEAD'));
    for (let attempt = 0; ; attempt++) {
      const canRetry = retry && attempt < this.#retries;
      const backoff = Math.min(this.#retryDelayMs * 2 ** attempt * (1 + Math.random() / 2), this.#maxRetryDelayMs);
      let res: HttpResponse;
      try {
        res = (request.bulk && request.method === 'GET' && request.body === undefined ? await this.#bulk(url, headers) : undefined) ?? (await this.#once(request.method, url, headers, request.body));
      } catch (err) {
        if (!canRetry || !TRANSIENT_CODES.has(errorCode(err) ?? '')) throw err;
        await sleep(backoff);
        continue;
      }
      if (!canRetry || !RETRY_STATUSES.has(res.status)) return res;
      const header = res.headers['retry-after'];
      const after = retryAfterMs(Array.isArray(header) ? header[0] : header);
      discard(res);
      await sleep(Math.min(after ?? backoff, this.#maxRetryDelayMs));
    }
  }

  /** bulkGet's answer, or undefined when the response needs node:http (it is then asked again). */
  async #bulk(url: URL, headers: Record<string, string>): Promise<HttpResponse | undefined> {
    const res = await bulkGet(url, headers, { timeoutMs: this.#timeoutMs, sockets: this.#bulkSockets, ...(this.#ca ? { ca: this.#ca } : {}) });
    return res && { ...res, url };
  }

  #once(method: HttpMethod, url: URL, headers: Record<string, string>, body: HttpRequest['body']): Promise<HttpResponse> {
    const secure = url.protocol === 'https:';
    const outgoing: OutgoingHttpHeaders = { ...headers };
    if (body instanceof Uint8Array) outgoing['content-length'] = body.byteLength;
    else if (body === undefined && method !== 'GET' && method !== 'HEAD') outgoing['content-length'] = 0;
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, { method, headers: outgoing, agent: secure ? this.#https : this.#http });
      let response: IncomingMessage | undefined;
      // The socket idle timeout covers connecting, waiting for headers, and a body that stalls half-way.
      req.setTimeout(this.#timeoutMs, () => {
        if (response?.complete) return;
        const err = idleTimeout(url, this.#timeoutMs);
        response?.destroy(err);
        req.destroy(err);
      });
      req.on('error', reject);
      req.once('response', (res) => {
        response = res;
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, url, body: res });
      });
      if (body instanceof Readable) {
        // A body that failed (or was closed) before this request was made will never end: piping it
        // would leave the request waiting for data until the idle timeout.
        const gone = body.errored ?? (body.destroyed && !body.readableEnded ? new Error('the request body was closed before it was sent') : undefined);
        if (gone) {
          req.destroy(gone);
          return;
        }
        body.once('error', (err) => req.destroy(err));
        body.pipe(req);
      } else if (typeof body === 'function') {
        body(req);
      } else {
        req.end(body);
      }
    });
  }
}

/** The `rel="next"` target of a Link header (RFC 8288), as tag lists and referrers paginate. */
export function nextLink(header: string | readonly string[] | undefined): string | undefined {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  for (const value of values) {
    for (const m of value.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
      if (/;\s*rel\s*=\s*"?(?:[^"]*\s)?next(?:\s[^"]*)?"?\s*(?:;|$)/i.test(m[2] ?? '')) return m[1];
    }
  }
  return undefined;
}

/** The media type of a Content-Type header, without parameters. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type || undefined;
}
