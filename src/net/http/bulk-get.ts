// A GET for large blob bodies, read off a plain net/tls socket. node:http copies every received chunk
// into a new Buffer and hands the body on in ~64 KiB pieces: receiving 512 MiB from a loopback registry
// cost 1.2 CPU-seconds that way, against 0.17 s reading the socket straight into 1 MiB buffers (net's
// `onread`), and that receive was the largest cost of a registry → layout copy.
//
// The reader is small on purpose: one request per connection (`Connection: close`), a strict parse of
// the status line and headers, and a body framed by Content-Length only. A response framed any other
// way (chunked, or ended by the connection closing), or with a head this parser finds irregular, is
// answered with `undefined`, and the caller sends the request again through node:http. Nothing read
// here is trusted: blob bytes are size- and digest-checked downstream, as every download is.
import type { IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, isIP, type OnReadOpts, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { BULK_BUFFERS, type BufferPool } from '../buffer-pool.ts';
import { HttpFailure, idleTimeout } from './failure.ts';
import { TOKEN_CHARS } from './syntax.ts';

/** Status line and headers together; node:http allows 16 KiB. */
const MAX_HEAD_BYTES = 64 * 1024;
/** A read gets the rest of the current buffer; with less room than this left, the buffer is handed on. */
const MIN_READ_ROOM = 64 * 1024;

/** RFC 9110 §5.6.2 token: what a header name may be made of. */
const TOKEN = new RegExp(`^${TOKEN_CHARS}+$`);
/** Header fields a response carries at most once; node:http keeps the first, and so does this reader. */
const SINGLE = new Set([
  'age',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'last-modified',
  'location',
  'retry-after',
  'server',
]);

export interface BulkGetOptions {
  /** A socket with no traffic for this long fails the request. */
  readonly timeoutMs: number;
  /** Trusted CA certificates (PEM) for https:, replacing the defaults; undefined: Node's roots. */
  readonly ca?: readonly string[];
  /** Live sockets are kept here, so their owner can close them all (HttpTransport.close). */
  readonly sockets?: Set<Socket>;
  /**
   * Where the body's buffers come from; each is filled by several socket reads and handed on as one
   * piece. Default BULK_BUFFERS, the pool the layout's file sink gives them back to.
   */
  readonly pool?: BufferPool;
}

export interface BulkResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: BulkBody;
}

interface Head {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
}

function protocolError(url: URL, why: string): HttpFailure {
  return new HttpFailure('EPROTO', `${url.origin} sent a malformed HTTP response: ${why}`);
}

/** Parses the status line and header fields (RFC 9112 §4, §5); anything irregular is refused. */
export function parseResponseHead(text: string, url: URL): Head {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const status = /^HTTP\/1\.[01] ([1-5]\d\d)(?: ([^\r\n\0]*))?$/.exec(statusLine);
  if (!status) throw protocolError(url, `status line '${statusLine.slice(0, 80)}'`);
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    // A missing colon, a name that is not a token (this includes obs-fold's leading whitespace) or a
    // bare CR/LF/NUL in a value is refused rather than guessed at.
    if (colon <= 0 || !TOKEN.test(name)) throw protocolError(url, `header line '${line.slice(0, 80)}'`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\r\n\0]/.test(value)) throw protocolError(url, `a control character in the ${name} header`);
    const previous = headers[name];
    if (name === 'content-length' && previous !== undefined && previous !== value) {
      throw protocolError(url, 'conflicting Content-Length headers');
    }
    if (previous === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(previous)) previous.push(value);
    else if (!SINGLE.has(name)) headers[name] = `${previous}, ${value}`;
  }
  return { status: Number(status[1]), statusText: status[2] ?? '', headers };
}

/** The body's length, 0 when the status has none, or undefined when it is not framed by Content-Length. */
function bodyLength(head: Head, url: URL): number | undefined {
  if (head.status === 204 || head.status === 304) return 0;
  if (head.headers['transfer-encoding'] !== undefined) return undefined;
  const declared = head.headers['content-length'];
  if (declared === undefined) return undefined;
  if (typeof declared !== 'string' || !/^\d{1,15}$/.test(declared))
    throw protocolError(url, `Content-Length '${String(declared).slice(0, 40)}'`);
  return Number(declared);
}

/** The head and body length, or undefined when this reader leaves the response to node:http. */
function takeableHead(text: string, url: URL): { head: Head; length: number } | undefined {
  try {
    const head = parseResponseHead(text, url);
    const length = bodyLength(head, url);
    return length === undefined ? undefined : { head, length };
  } catch {
    return undefined;
  }
}

function requestHead(url: URL, headers: Readonly<Record<string, string>>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'connection') continue;
    // The same refusal node:http makes: a value with CR/LF would smuggle in a header of its own.
    if (!TOKEN.test(name) || /[^\t\x20-\x7e\x80-\xff]/.test(value))
      throw new HttpFailure('EINVAL', `refusing to send an invalid '${name}' header`);
    lines.push(`${name}: ${value}`);
  }
  lines.push('connection: close', '', '');
  return lines.join('\r\n');
}

/**
 * A response body that arrives in pieces of about a pool buffer each (BULK_BUFFERS by default: see
 * buffer-pool.ts for who may give them back). `complete` is true once all Content-Length bytes are in;
 * a connection that ends or fails before then fails the stream.
 */
export class BulkBody extends Readable {
  complete = false;
  readonly #socket: Socket;

  constructor(socket: Socket, bufferBytes: number) {
    super({ highWaterMark: 4 * bufferBytes });
    this.#socket = socket;
  }

  override _read(): void {
    // net.Socket's resume restarts reading in `onread` mode, which returning false had stopped.
    this.#socket.resume();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#socket.destroy();
    // As node:http's IncomingMessage does: an error is emitted only to a listener. A body nobody reads
    // (a redirect's, drained by `discard`) must not crash the process when its connection fails.
    process.nextTick(() => done(this.listenerCount('error') > 0 ? err : null));
  }
}

/**
 * Sends a GET and resolves with the response once its head is in, or with undefined when this reader
 * does not take the response (a body not framed by Content-Length, a head it finds irregular): the
 * caller then asks again through node:http. Network failures reject with the socket's error code, so
 * callers retry them as they would node:http's.
 */
export function bulkGet(
  url: URL,
  headers: Readonly<Record<string, string>>,
  options: BulkGetOptions,
): Promise<BulkResponse | undefined> {
  let request: string;
  try {
    request = requestHead(url, headers);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  return new Promise<BulkResponse | undefined>((resolve, reject) => {
    const exchange = new BulkExchange(url, options.pool ?? BULK_BUFFERS, resolve, reject);
    const socket = connectFor(url, options, exchange.onread);
    options.sockets?.add(socket);
    exchange.start(socket, request, options);
  });
}

/** A plain or TLS socket that reads straight into the exchange's buffers. */
function connectFor(url: URL, options: BulkGetOptions, onread: OnReadOpts): Socket {
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (secure ? 443 : 80));
  if (!secure) return netConnect({ host, port, onread });
  // tls.connect takes `onread` as net.connect does (@types/node leaves it out of ConnectionOptions).
  return tlsConnect({
    host,
    port,
    ...(isIP(host) ? {} : { servername: host }),
    ...(options.ca ? { ca: [...options.ca] } : {}),
    onread,
  } as ConnectionOptions);
}

/** One request on one connection: the head parsed from the first reads, then the body handed on in pool buffers. */
class BulkExchange {
  readonly #url: URL;
  readonly #pool: BufferPool;
  readonly #resolve: (response: BulkResponse | undefined) => void;
  readonly #reject: (err: Error) => void;
  #socket: Socket | undefined;
  // The buffer the socket reads into. It is switched only inside the onread callback: node asks for
  // the next buffer after each callback, so a switch anywhere else would leave the socket reading into
  // a buffer already handed on. It never leaves this exchange before it is handed on as a body piece.
  #buffer: Buffer | undefined;
  #used = 0;
  /** Where this buffer's body bytes start (after the head, in the first buffer). */
  #start = 0;
  /** Body bytes not yet handed on. */
  #remaining = 0;
  #body: BulkBody | undefined;

  constructor(
    url: URL,
    pool: BufferPool,
    resolve: (response: BulkResponse | undefined) => void,
    reject: (err: Error) => void,
  ) {
    this.#url = url;
    this.#pool = pool;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#buffer = pool.take();
  }

  readonly onread: OnReadOpts = {
    // After the body is complete the socket is destroyed; a last request for a buffer gets a byte.
    buffer: () => this.#buffer?.subarray(this.#used) ?? Buffer.alloc(1),
    callback: (n: number): boolean => {
      this.#used += n;
      try {
        return this.#body ? this.#handOn(this.#body) : this.#readHead();
      } catch (err) {
        this.#socket?.destroy(err as Error);
        return false;
      }
    },
  };

  /** Sends the request once connected, and watches the connection to its end. */
  start(socket: Socket, request: string, options: BulkGetOptions): void {
    this.#socket = socket;
    const url = this.#url;
    const secure = url.protocol === 'https:';
    socket.setTimeout(options.timeoutMs, () => socket.destroy(idleTimeout(url, options.timeoutMs)));
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(request, 'latin1'));
    socket.once('end', () => {
      const body = this.#body;
      if (!body) socket.destroy(this.#closed('before it answered'));
      else if (!body.complete) {
        socket.destroy(this.#closed(`with ${this.#remaining - (this.#used - this.#start)} body bytes still to come`));
      }
    });
    // Before the head, a failure rejects (retried like node:http's). After it, it fails the body, one
    // turn of the event loop later: it may come with the head, before the caller awaiting this promise
    // has had a chance to listen.
    socket.once('error', (err) => {
      if (!this.#body) this.#reject(err);
      else if (!this.#body.complete) setImmediate(() => this.#body?.destroy(err));
    });
    socket.once('close', () => {
      options.sockets?.delete(socket);
      // A buffer not handed on was seen by no one: it can go back.
      if (this.#buffer) this.#pool.recycle(this.#buffer);
      this.#buffer = undefined;
      this.#reject(this.#closed('before it answered'));
    });
  }

  #closed(why: string): HttpFailure {
    return new HttpFailure('ECONNRESET', `${this.#url.origin} closed the connection ${why}`);
  }

  #readHead(): boolean {
    const socket = this.#socket as Socket;
    const current = this.#buffer as Buffer;
    const end = current.subarray(0, this.#used).indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0 && this.#used <= MAX_HEAD_BYTES) return true;
    const taken =
      end >= 0 && end <= MAX_HEAD_BYTES ? takeableHead(current.toString('latin1', 0, end), this.#url) : undefined;
    if (!taken) {
      // node:http's parser is the reference: what this one will not take, that one judges.
      this.#resolve(undefined);
      socket.destroy();
      return false;
    }
    this.#remaining = taken.length;
    this.#start = end + 4;
    const body = new BulkBody(socket, this.#pool.size);
    this.#body = body;
    this.#resolve({ ...taken.head, body });
    // Pieces pushed before the caller listens wait in the body's buffer; failures are delivered late
    // enough for the caller to listen (see the 'error' handler).
    return this.#handOn(body);
  }

  /** Hands on what the current buffer holds once it is nearly full or the body is complete. */
  #handOn(to: BulkBody): boolean {
    const current = this.#buffer as Buffer;
    const inBuffer = this.#used - this.#start;
    if (inBuffer > this.#remaining) throw protocolError(this.#url, 'more body bytes than its Content-Length');
    const done = inBuffer === this.#remaining;
    if (!done && this.#pool.size - this.#used >= MIN_READ_ROOM) return true;
    this.#remaining -= inBuffer;
    let more = true;
    if (inBuffer > 0) {
      more = to.push(current.subarray(this.#start, this.#used));
      this.#buffer = undefined;
    }
    this.#used = 0;
    this.#start = 0;
    if (!done) {
      this.#buffer ??= this.#pool.take();
      return more;
    }
    to.complete = true;
    to.push(null);
    this.#socket?.destroy();
    return false;
  }
}
