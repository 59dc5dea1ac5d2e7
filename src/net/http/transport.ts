// airlock's one HTTP stack, composed: node:http underneath, the bulk reader for blob bodies around it,
// then retries, then redirects (go-containerregistry layers its transports the same way). Registries add
// authentication above it (oci/registry/client.ts); logs, witnesses, TSAs and TUF mirrors use it as it is.
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { VERSION } from '../../version.ts';
import { withBulkReads } from './bulk.ts';
import { nodeSend, withSystemRoots } from './node-send.ts';
import { withRedirects } from './redirect.ts';
import { withRetries } from './retry.ts';
import type { RetryClock, Send } from './types.ts';

export { readBody, discard } from './body.ts';
export { HttpFailure } from './failure.ts';
export { mediaTypeOf, nextLink, retryAfterMs } from './headers.ts';
export type { BodyWriter, HttpMethod, HttpRequest, HttpResponse, RedirectPolicy, ResponseBody, Send } from './types.ts';
export { replayableBody } from './types.ts';

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
  /** Time and jitter of the retries; default the real clock. */
  readonly clock?: RetryClock;
}

export const SYSTEM_CLOCK: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms),
  random: () => Math.random(),
};

export interface HttpTransport {
  readonly send: Send;
  /** Releases keep-alive sockets and stops bulk downloads still in flight. */
  close(): void;
}

export function createHttpTransport(options: HttpTransportOptions = {}): HttpTransport {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ca = withSystemRoots(options.caPem);
  const base = nodeSend({ timeoutMs, ...(ca ? { ca } : {}) });
  const bulkSockets = new Set<Socket>();
  const stack = withRedirects(
    withRetries(withBulkReads(base.send, { timeoutMs, sockets: bulkSockets, ...(ca ? { ca } : {}) }), {
      retries: options.retries ?? 3,
      retryDelayMs: options.retryDelayMs ?? 500,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
      clock: options.clock ?? SYSTEM_CLOCK,
    }),
  );
  return {
    send: (request) => stack({ ...request, headers: { 'user-agent': `airlock/${VERSION}`, ...request.headers } }),
    close: () => {
      base.close();
      for (const socket of bulkSockets) socket.destroy();
    },
  };
}
