// A whole request and answer for the services airlock talks to besides registries — transparency logs
// and their tiles, witnesses, timestamp authorities, TUF mirrors: sent through the one HTTP stack, the
// answer read whole up to a bound, everything within a deadline (a server trickling its answer cannot
// hang the caller, as an idle timeout alone would let it).
import type { IncomingHttpHeaders } from 'node:http';
import { readBody } from './body.ts';
import { HttpFailure } from './failure.ts';
import { createHttpTransport, type HttpTransport } from './transport.ts';
import type { HttpRequest } from './types.ts';

export interface Exchange {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ExchangeLimits {
  /** The most the answer's body may hold; past it, the request fails. */
  readonly maxBytes: number;
  /** The whole exchange, connection to the last byte, must end within this. */
  readonly deadlineMs: number;
}

/** tlog-anchors.md §6.7: a log answers within its checkpoint interval; clients should wait ≥20 s. */
export const SERVICE_TIMEOUT_MS = 20_000;

let shared: HttpTransport | undefined;

/**
 * The transport services share by default: keep-alive (idle sockets never keep a process alive), two retries for reads.
 */
export function serviceTransport(): HttpTransport {
  shared ??= createHttpTransport({ timeoutMs: SERVICE_TIMEOUT_MS, retries: 2, retryDelayMs: 250 });
  return shared;
}

export async function exchange(
  request: HttpRequest,
  limits: ExchangeLimits,
  transport: HttpTransport = serviceTransport(),
): Promise<Exchange> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.deadlineMs);
  try {
    const res = await transport.send({ ...request, signal: controller.signal });
    // Any answer is read up to the same bound (a 409 may carry the entry a log already holds); past it, an
    // error page is left unread: whatever its size, the status is the answer.
    const ok = res.status >= 200 && res.status < 300;
    const body = ok
      ? await readBody(res, limits.maxBytes)
      : await readBody(res, limits.maxBytes).catch(() => Buffer.alloc(0));
    return { status: res.status, statusText: res.statusText, headers: res.headers, body };
  } catch (err) {
    if (controller.signal.aborted)
      throw new HttpFailure('ETIMEDOUT', `no answer within ${limits.deadlineMs / 1000} s`, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Why an exchange failed, in words: the stack's own message (timeouts, refused redirects, sizes), or the system's. */
export function failureReason(err: unknown): string {
  if (err instanceof HttpFailure) return err.message;
  const parts = [err, (err as { cause?: unknown } | undefined)?.cause].filter((e): e is Error => e instanceof Error);
  return [...new Set(parts.map((e) => e.message))].join(': ') || String(err);
}

/** The first value of a header. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
