// Serving over HTTPS with a certificate and key read from files and read again when they change
// (cert-manager, or a rotated Secret, replaces them in place): new connections get the new pair, and
// a pair that does not load keeps the one in use and says so. The API server calls webhooks over TLS only.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { AirlockError } from '../errors.ts';
import { readInputFile } from '../files/read-file.ts';
import { SERVER_TIMEOUTS } from './http-io.ts';

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface HttpsListener {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Reads the files again now; resolves true when a new pair was loaded. */
  reload(): Promise<boolean>;
  close(): Promise<void>;
}

async function readPair(tls: TlsFiles): Promise<{ cert: Buffer; key: Buffer; digest: string }> {
  const cert = await readInputFile(tls.certPath, 'a TLS certificate', 1024 * 1024);
  const key = await readInputFile(tls.keyPath, 'a TLS private key', 1024 * 1024);
  const digest = createHash('sha256').update(cert).update(key).digest('hex');
  return { cert, key, digest };
}

export async function listenHttps(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  host: string,
  port: number,
  tls: TlsFiles,
  options: { pollMs?: number; log?: (event: Record<string, unknown>) => void } = {},
): Promise<HttpsListener> {
  let pair = await readPair(tls);
  let server: Server;
  try {
    server = createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2', ...SERVER_TIMEOUTS }, handler);
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `the TLS certificate and key do not load: ${(err as Error).message}`);
  }
  server.keepAliveTimeout = 65_000; // longer than the API server's idle connections, so it does not race a close
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(new AirlockError('E_UNAVAILABLE', `cannot listen on ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, ok);
  });
  const reload = async (): Promise<boolean> => {
    let next;
    try {
      next = await readPair(tls);
      if (next.digest === pair.digest) return false;
      server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    } catch (err) {
      options.log?.({
        level: 'error',
        msg: 'TLS reload failed; keeping the pair in use',
        error: (err as Error).message,
      });
      return false;
    }
    pair = next;
    options.log?.({ msg: 'TLS certificate reloaded', sha256: next.digest.slice(0, 16) });
    return true;
  };
  const timer = setInterval(() => void reload(), options.pollMs ?? 5000);
  timer.unref();
  const bound = server.address();
  const actual = typeof bound === 'object' && bound ? bound.port : port;
  const close = () =>
    new Promise<void>((ok) => {
      clearInterval(timer);
      server.close(() => ok());
      server.closeIdleConnections();
    });
  return { server, url: `https://${host.includes(':') ? `[${host}]` : host}:${actual}`, port: actual, reload, close };
}
