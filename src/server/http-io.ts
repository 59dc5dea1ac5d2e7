// What airlock's HTTP servers (the log, the witness) share: listening, a refusal that carries its
// status, and a request body read up to a bound, refused with 413 past it (declared or sent).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AirlockError, type ErrorCode } from '../errors.ts';

export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  readonly hint: string | undefined;
  constructor(status: number, code: ErrorCode, message: string, options: { headers?: Readonly<Record<string, string>>; hint?: string } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.hint = options.hint;
  }
}

export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () => new HttpError(413, 'E_INPUT_MALFORMED', `request body over ${limit} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Milliseconds since `started`, to one decimal: the `ms` of request log lines. */
export const elapsedMs = (started: number): number => Math.round((performance.now() - started) * 10) / 10;

/** Listens on host:port (0: any free port); resolves with the server and the URL it is reachable at. */
export async function listenOn(handler: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(handler);
  server.requestTimeout = 30_000;
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => fail(new AirlockError('E_UNAVAILABLE', `cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, ok);
  });
  const bound = server.address();
  const actual = typeof bound === 'object' && bound ? bound.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`, port: actual };
}

export const closeServer = (server: Server): Promise<void> => new Promise((ok) => server.close(() => ok()));
