// What fails below HTTP semantics — network, TLS, timeout, refused redirect, oversized body — for the
// node:http transport and the bulk reader alike (errors.ts maps it to a coded AirlockError).

export class HttpFailure extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpFailure';
    this.code = code;
  }
}

/** A connection that sent nothing for the idle timeout. */
export function idleTimeout(url: URL, timeoutMs: number): HttpFailure {
  return new HttpFailure('ETIMEDOUT', `no data from ${url.origin} for ${timeoutMs} ms`);
}
