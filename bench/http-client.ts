// A lean HTTP/1.1 load client for the log bench. Client and server share this machine's CPUs: with
// node:http's client, the load generator took about a third of a core at 2,000 requests/s, which the
// server then did not have (a real log's clients run elsewhere). This one writes pre-rendered requests
// on keep-alive connections, one in flight per connection as a real client has, and reads back only
// what it must (status line, Content-Length or chunked framing). Bench code only: it knows nothing
// of HTTP beyond what `airlock log serve` answers.
import { connect, type Socket } from 'node:net';

export interface LoadResponse {
  readonly status: number;
  readonly body: Buffer;
}

/** A POST with its headers, rendered once so each send is one write. */
export function renderPost(url: string, path: string, body: string): Buffer {
  const { host } = new URL(url);
  const payload = Buffer.from(body);
  const head =
    `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ` +
    `${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The whole response at the start of `data`, and how many bytes it took; undefined while incomplete. */
export function parseResponse(data: Buffer): { response: LoadResponse; length: number } | undefined {
  const end = data.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const head = data.toString('latin1', 0, end);
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(head);
  if (!status) throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(head.slice(0, 40))}`);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  let at = end + HEADER_END.length;
  if (length) {
    const stop = at + Number(length[1]);
    return stop <= data.length
      ? { response: { status: Number(status[1]), body: data.subarray(at, stop) }, length: stop }
      : undefined;
  }
  if (!/\r\ntransfer-encoding: *chunked/i.test(head))
    throw new Error('a response with neither Content-Length nor chunked framing');
  const chunks: Buffer[] = [];
  for (;;) {
    const line = data.indexOf(CRLF, at);
    if (line < 0) return undefined;
    const size = Number.parseInt(data.toString('latin1', at, line), 16);
    if (!Number.isFinite(size)) throw new Error('a malformed chunk size');
    const start = line + CRLF.length;
    if (start + size + CRLF.length > data.length) return undefined;
    if (size === 0)
      return { response: { status: Number(status[1]), body: Buffer.concat(chunks) }, length: start + CRLF.length };
    chunks.push(data.subarray(start, start + size));
    at = start + size + CRLF.length;
  }
}

/** One keep-alive connection with at most one request in flight. */
export class LoadConnection {
  readonly #socket: Socket;
  #received: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (r: LoadResponse) => void; reject: (err: Error) => void } | undefined;
  #failed: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('the server closed the connection')));
  }

  static open(url: string): Promise<LoadConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () => {
        socket.off('error', reject);
        resolve(new LoadConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(request: Buffer): Promise<LoadResponse> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#waiting) return Promise.reject(new Error('one request at a time on a LoadConnection'));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(request);
    });
  }

  close(): void {
    this.#failed ??= new Error('closed');
    this.#socket.destroy();
  }

  #onData(data: Buffer): void {
    this.#received = this.#received.length === 0 ? data : Buffer.concat([this.#received, data]);
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.#received);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (!parsed) return;
    this.#received = this.#received.subarray(parsed.length);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting.resolve(parsed.response);
    else this.#fail(new Error('a response nobody asked for'));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(err);
  }
}
