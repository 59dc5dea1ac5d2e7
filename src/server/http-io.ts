// What airlock's HTTP servers (the log, the witness) share: listening, a refusal that carries its
// status, and a request body read up to a bound, refused with 413 past it (declared or sent).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AirlockError, type ErrorCode } from '../errors.ts';
import { bounded } from '../text.ts';

export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  readonly hint: string | undefined;
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { headers?: Readonly<Record<string, string>>; hint?: string } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.hint = options.hint;
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return readBodyBytes(req, limit).then((body) => body.toString('utf8'));
}

/**
 * How much of a body nobody wants (past the limit, or a request refused before its body was read) is
 * still read and dropped before the answer goes out, and for how long. Answering while the client still
 * writes closes a connection holding bytes the server never read, and the TCP reset that follows can
 * destroy the answer before the client reads it (RFC 9112 §9.6): most clients (Go's, Node's) send the
 * whole body first. Past either bound the answer goes out anyway (and Node stops reading): a client can
 * make a server read this much for nothing, or hold a refusal back this long, no more.
 */
export const DRAIN_BOUND = 16 * 1024 * 1024;
export const DRAIN_WAIT_MS = 5_000;

/**
 * Resolves once the request's body is off the wire: at once when the parser has it all already or the
 * connection is gone, else when the rest has been read and dropped, or past DRAIN_BOUND bytes (declared
 * or sent) or DRAIN_WAIT_MS, whichever comes first.
 */
export function bodyDone(req: IncomingMessage, waitMs = DRAIN_WAIT_MS): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (req.complete || req.destroyed || declared > DRAIN_BOUND) return Promise.resolve();
  return new Promise((done) => {
    let total = 0;
    const finish = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', finish);
      req.off('error', finish);
      req.off('close', finish);
      done();
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > DRAIN_BOUND) finish();
    };
    const timer = setTimeout(finish, waitMs);
    req.on('data', onData);
    req.on('end', finish);
    req.on('error', finish);
    req.on('close', finish);
    req.resume(); // a route may have paused it: a 'data' listener alone would not start it again
  });
}

/** As readBody, the bytes as they came (a binary body: an RFC 3161 query). */
export function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, 'E_INPUT_MALFORMED', `request body over ${limit} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
  // Events rather than an async iterator: a promise per chunk was a visible cost for small bodies.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        req.resume(); // drain what is left without keeping it
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      // A small body comes in one chunk: used as it is, not copied first.
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    // The client went away or broke the framing mid-body: its request, not the server, failed.
    const onError = (err: Error) => {
      cleanup();
      reject(new HttpError(400, 'E_INPUT_MALFORMED', `the request body could not be read: ${err.message}`));
    };
    const onAborted = () => onError(new Error('aborted'));
    // Closed before its end: nothing more will come.
    const onClose = () => onError(new Error('the connection closed before the body ended'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);
  });
}

/**
 * The path a request names: origin-form (`/checkpoint?x`) or absolute-form (`http://host/checkpoint`,
 * which servers must accept, RFC 9112 §3.2.2). Anything else — `*`, a bare word, a URL that does not
 * parse — is the client's mistake: 400, never an exception in the handler.
 */
/** A path URL parsing would return unchanged: no dot segment, escape, query, or doubled slash. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_-]+)+$|^\/$/;

export function requestPath(req: IncomingMessage): string {
  const target = req.url ?? '/';
  // Busy servers route every request: the common target needs no URL parser.
  if (PLAIN_PATH.test(target)) return target;
  let url: URL | undefined;
  try {
    // Prefixed rather than resolved against a base: `//x` is a path here, not a host.
    url = target.startsWith('/') ? new URL(`http://request.invalid${target}`) : new URL(target);
  } catch {
    url = undefined;
  }
  if (!url || (!target.startsWith('/') && url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new HttpError(
      400,
      'E_INPUT_MALFORMED',
      `the request target '${bounded(target, 100)}' is neither a path nor an http(s) URL`,
    );
  }
  return url.pathname;
}

/** requestPath, or undefined: for the error path, which must answer whatever the target is. */
export function requestPathOrUndefined(req: IncomingMessage): string | undefined {
  try {
    return requestPath(req);
  } catch {
    return undefined;
  }
}

/** Milliseconds since `started`, to one decimal: the `ms` of request log lines. */
export const elapsedMs = (started: number): number => Math.round((performance.now() - started) * 10) / 10;

/** The log line of a request that failed: a 5xx is an error for the operator, anything else the client's. */
export function failedRequestEvent(
  req: IncomingMessage,
  status: number,
  started: number,
  code: string,
  err: unknown,
): Record<string, unknown> {
  return {
    msg: 'request',
    level: status >= 500 ? 'error' : 'info',
    method: req.method,
    path: req.url,
    status,
    ms: elapsedMs(started),
    code,
    error: (err as Error).message,
  };
}

/** What a route answered with: its name, for the request count, and its own fields for the log line. */
export interface Routed {
  readonly route: string;
  readonly extra?: Record<string, unknown>;
}

/** A server's steps for one request: route it, then count and log it once, answered or failed. */
export interface RequestSteps {
  /** Answered at once (no promise to wait for), or later. */
  route(req: IncomingMessage, res: ServerResponse, started: number): Routed | Promise<Routed>;
  answered(req: IncomingMessage, res: ServerResponse, routed: Routed, started: number): void;
  failed(req: IncomingMessage, res: ServerResponse, err: unknown, started: number): void;
}

/**
 * The handler node:http calls: the steps, timed from the moment the request arrived. An answer waits
 * for the request's body to be off the wire (bodyDone): a refusal made before reading it (a 404, a 413
 * on the declared length) must still reach the client.
 */
export function requestHandler(steps: RequestSteps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    // The routes answer what they accept themselves, having read its body whole: only a refusal, which
    // `failed` writes, can come while the body is still arriving.
    const failed = (err: unknown) => {
      if (req.complete) steps.failed(req, res, err, started);
      else void bodyDone(req).then(() => steps.failed(req, res, err, started));
    };
    let routed;
    try {
      routed = steps.route(req, res, started);
    } catch (err) {
      failed(err);
      return;
    }
    if (routed instanceof Promise)
      routed.then(
        (r) => steps.answered(req, res, r, started),
        (err: unknown) => failed(err),
      );
    else steps.answered(req, res, routed, started);
  };
}

/** The log line of a request answered; `labels` (the witness names the route) stand before the request's fields. */
export function answeredRequestEvent(
  req: IncomingMessage,
  res: ServerResponse,
  started: number,
  extra: Readonly<Record<string, unknown>> | undefined,
  labels: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    msg: 'request',
    ...labels,
    method: req.method,
    path: req.url,
    status: res.statusCode,
    ms: elapsedMs(started),
    ...extra,
  };
}

/** Listens on host:port (0: any free port); resolves with the server and the URL it is reachable at. */
export async function listenOn(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host: string,
  port: number,
): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(SERVER_TIMEOUTS, handler);
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(new AirlockError('E_UNAVAILABLE', `cannot listen on ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, ok);
  });
  const bound = server.address();
  const actual = typeof bound === 'object' && bound ? bound.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`, port: actual };
}

/**
 * A request must arrive whole within 30 s; Node checks every 5 s (its default, 30 s, let a stalled request
 * live a minute).
 */
export const SERVER_TIMEOUTS = { requestTimeout: 30_000, connectionsCheckingInterval: 5_000 } as const;

/** How long a closing server lets requests in flight finish before it cuts their connections. */
export const CLOSE_GRACE_MS = 10_000;

/**
 * Stops listening and resolves once every connection is closed: idle ones at once, those with a request
 * in flight when it is answered, or after CLOSE_GRACE_MS (a client stalling its body must not hold a
 * log's hand-over to its standby for ever).
 */
export function closeServer(server: Server, graceMs = CLOSE_GRACE_MS): Promise<void> {
  return new Promise((ok) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cut);
      ok();
    });
  });
}
