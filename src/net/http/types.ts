// The shapes of airlock's one HTTP stack (transport.ts composes it): a request, a response, and `Send`,
// the one function every layer is — the base that talks to a socket, and each wrapper around it
// (bulk reads, retries, redirects; registry auth above them), as go-containerregistry layers its
// RoundTrippers.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * - `none`: a 3xx is returned to the caller.
 * - `same-origin`: followed while it stays on the origin (registry manifests, tags, referrers).
 * - `any-origin`: also to other hosts, for blob downloads, which registries commonly hand off to object
 *   storage (distribution spec, "Pulling blobs": 307). The bytes are digest-verified either way, and the
 *   Authorization header is dropped on leaving the origin: it is the origin's, not the storage's.
 */
export type RedirectPolicy = 'none' | 'same-origin' | 'any-origin';

/**
 * A body its owner writes into the request itself: each write's callback then says when the socket
 * has taken that chunk, so its buffer can be reused without a copy (a piped Readable cannot say so).
 * Called once, with the request, when it is made.
 */
export type BodyWriter = (request: Writable) => void;

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
  /** A large body is expected (a blob): a GET reads it off a raw socket (bulk-get.ts) when it can. */
  readonly bulk?: boolean;
  /** Aborts the request and its answer's body (a caller's deadline). */
  readonly signal?: AbortSignal;
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

/** One layer of the stack. */
export type Send = (request: HttpRequest) => Promise<HttpResponse>;

/** Whether a body can be sent again (on a retry, after a 401). */
export function replayableBody(body: HttpRequest['body']): boolean {
  return body === undefined || body instanceof Uint8Array;
}

/** Time and chance for the retry layer, from the caller: tests run it at any pace, with no real waits. */
export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Uniform in [0, 1): the jitter of a backoff. */
  random(): number;
}
