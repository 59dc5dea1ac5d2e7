// What every outbound fetch of airlock (transparency logs, tiles, timestamp authorities) shares: the
// default time a log is given to answer, a failure told in words, and a body read up to a bound.
// Callers wrap failures in their own error code; this module only says what went wrong.

/** tlog-anchors.md §6.7: a log answers within its checkpoint interval; clients should wait ≥20 s. */
export const LOG_TIMEOUT_MS = 20_000;

/** Why a fetch failed: the timeout, or undici's "fetch failed" with the reason it keeps in `cause` (ECONNREFUSED, a refused redirect). */
export function fetchFailureReason(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const parts = [err, (err as { cause?: unknown } | undefined)?.cause].filter((e): e is Error => e instanceof Error);
  return parts.map((e) => e.message).join(': ') || String(err);
}

/**
 * The whole body, refused (and the rest of it cancelled) once it is over `limit` bytes. Counted after
 * decompression, so a gzip bomb stops at the same bound as a plain answer; a declared Content-Length
 * over the bound is refused before anything is read.
 */
export async function readBodyBounded(response: Response, limit: number): Promise<Buffer> {
  const tooLarge = () => new Error(`the answer is larger than ${limit} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
