// Retries with backoff, around any Send: for the transient statuses the distribution spec names and
// for connection failures, only for requests whose body can be sent again. Time and jitter come from
// the caller's clock.
import { discard } from './body.ts';
import { retryAfterMs } from './headers.ts';
import { type HttpResponse, type RetryClock, replayableBody, type Send } from './types.ts';

export interface RetryOptions {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** First backoff delay, doubled per retry. */
  readonly retryDelayMs: number;
  /** Upper bound of any wait, including a server's Retry-After. */
  readonly maxRetryDelayMs: number;
  readonly clock: RetryClock;
}

/**
 * Distribution spec, "Pushing a blob" errors: 502, 503 and 504 are temporary; other 5xx are terminal. 429 is RFC 6585
 * rate limiting.
 */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function withRetries(inner: Send, options: RetryOptions): Send {
  return async (request) => {
    const retry =
      replayableBody(request.body) && (request.retry ?? (request.method === 'GET' || request.method === 'HEAD'));
    for (let attempt = 0; ; attempt++) {
      const canRetry = retry && attempt < options.retries;
      const backoff = Math.min(
        options.retryDelayMs * 2 ** attempt * (1 + options.clock.random() / 2),
        options.maxRetryDelayMs,
      );
      let res: HttpResponse;
      try {
        res = await inner(request);
      } catch (err) {
        if (!canRetry || !TRANSIENT_CODES.has(errorCode(err) ?? '')) throw err;
        await options.clock.sleep(backoff);
        continue;
      }
      if (!canRetry || !RETRY_STATUSES.has(res.status)) return res;
      const header = res.headers['retry-after'];
      const after = retryAfterMs(Array.isArray(header) ? header[0] : header, options.clock.now());
      discard(res);
      await options.clock.sleep(Math.min(after ?? backoff, options.maxRetryDelayMs));
    }
  };
}
