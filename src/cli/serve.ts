// What the long-running commands (`log serve`, `ca serve`, `tsa serve`, ...) share at the edge: the --listen
// address, listening, request logs as JSON lines on stdout, and the signals that stop them.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AirlockError } from '../errors.ts';
import { resolve } from 'node:path';
import { closeServer, listenOn } from '../server/http-io.ts';
import { listenHttps, type TlsFiles } from '../server/https-listener.ts';
import type { CommandContext } from './command.ts';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-f:]+\]|[^:]*):)?(\d{1,5})$/i.exec(text);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new AirlockError('E_USAGE', `--listen must be HOST:PORT or PORT, got '${text}'`);
  return { host: (m[1] || '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/**
 * Resolves when the process is asked to stop; the only place a server touches signals. Call it before
 * starting up: a signal that arrives before its listener is in place kills the process outright.
 */
export function untilStopped(): Promise<string> {
  return new Promise((done) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done(signal));
  });
}

/**
 * One JSON line per event on stdout, stamped with the command's clock. The lines of one event-loop
 * turn go out in one write: stdout on a pipe is written synchronously, and a write per request was a
 * visible share of a busy log's CPU profile (and woke whatever reads the pipe as often).
 */
export function jsonLineLog(ctx: CommandContext): (event: Readonly<Record<string, unknown>>) => void {
  let pending: string[] = [];
  const flush = () => {
    const lines = pending;
    pending = [];
    ctx.io.stdout.write(lines.join(''));
  };
  return (event) => {
    // Made first: an event that cannot be written throws here and schedules nothing.
    const line = `${JSON.stringify({ time: ctx.now().toISOString(), level: 'info', ...event })}\n`;
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

/** Listens on --listen's address; resolves with the server and the URL it is reachable at. */
export function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  address: string,
): Promise<{ server: Server; url: string; port: number }> {
  const { host, port } = parseListen(address);
  return listenOn(handler, host, port);
}

export { closeServer };

/** --tls-cert and --tls-key, both or neither: the pair to serve HTTPS with. */
export function tlsFiles(ctx: CommandContext): TlsFiles | undefined {
  const [cert, key] = [ctx.flags.string('tls-cert'), ctx.flags.string('tls-key')];
  if ((cert === undefined) !== (key === undefined))
    throw new AirlockError('E_USAGE', '--tls-cert and --tls-key go together');
  return cert && key ? { certPath: resolve(ctx.cwd, cert), keyPath: resolve(ctx.cwd, key) } : undefined;
}

/** Listens on --listen's address, over HTTPS when a TLS pair is given (reloaded when its files change). */
export async function openListener(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  address: string,
  tls: TlsFiles | undefined,
  log: (event: Record<string, unknown>) => void,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const { host, port } = parseListen(address);
  if (tls) return listenHttps(handler, host, port, tls, { log });
  const { server, url } = await listenOn(handler, host, port);
  return { url, server, close: () => closeServer(server) };
}
