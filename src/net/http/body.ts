// The one bounded-body reader of the HTTP stack, and the release of a response nobody reads.
import { HttpFailure } from './failure.ts';
import type { HttpResponse } from './types.ts';

/** Bodies small enough to drain so the keep-alive socket is reused; larger ones cost a new connection instead. */
const DRAIN_LIMIT = 64 * 1024;

/** Releases a response the caller does not read. */
export function discard(res: HttpResponse): void {
  if (res.body.readableEnded || res.body.destroyed) return;
  // `complete`: already received in full (always so for HEAD, whatever Content-Length says).
  const length = Number(res.headers['content-length'] ?? Number.NaN);
  if (res.body.complete || (Number.isFinite(length) && length <= DRAIN_LIMIT)) res.body.resume();
  else res.body.destroy();
}

/**
 * Reads a whole body of at most `limit` bytes (manifests, JSON, tiles, token responses); past it, HttpFailure
 * ETOOLARGE.
 */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new HttpFailure('ETOOLARGE', `the response is ${declared} bytes, over the ${limit}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.body.destroy();
      throw new HttpFailure('ETOOLARGE', `the response exceeds the ${limit}-byte limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
