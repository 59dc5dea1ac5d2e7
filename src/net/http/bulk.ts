// The bulk path, around any Send: a GET marked `bulk` (a blob) is read off a raw socket by bulkGet when
// the response is framed as it reads (Content-Length); anything else goes to the layer inside.
import type { Socket } from 'node:net';
import { bulkGet } from './bulk-get.ts';
import type { Send } from './types.ts';

export interface BulkOptions {
  readonly timeoutMs: number;
  readonly ca?: readonly string[];
  /** Live bulk sockets, so the transport's close() can stop downloads still in flight. */
  readonly sockets: Set<Socket>;
}

export function withBulkReads(inner: Send, options: BulkOptions): Send {
  return async (request) => {
    if (request.bulk && request.method === 'GET' && request.body === undefined) {
      const res = await bulkGet(request.url, request.headers ?? {}, {
        timeoutMs: options.timeoutMs,
        sockets: options.sockets,
        ...(options.ca ? { ca: options.ca } : {}),
      });
      if (res) return { ...res, url: request.url };
    }
    return inner(request);
  };
}
