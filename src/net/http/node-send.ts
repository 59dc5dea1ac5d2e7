// The bottom of the stack: one request over node:http/node:https on keep-alive agents (a private CA is
// added to, not substituted for, the system roots, so redirects to public hosts still verify), with an
// idle timeout on every socket. No retries, no redirects: the layers above do those.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { idleTimeout } from './failure.ts';
import type { HttpResponse, Send } from './types.ts';

export interface NodeSendOptions {
  /** Trusted CA certificates (PEM): the system roots and a private CA. */
  readonly ca?: readonly string[];
  /** A socket with no traffic for this long fails the request. */
  readonly timeoutMs: number;
}

/** The CA list for a private CA given as PEM: added to the system roots. */
export function withSystemRoots(caPem: string | undefined): readonly string[] | undefined {
  return caPem ? [...rootCertificates, caPem] : undefined;
}

export function nodeSend(options: NodeSendOptions): { send: Send; close(): void } {
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true, ...(options.ca ? { ca: [...options.ca] } : {}) });
  const send: Send = (request) => {
    const { method, url, body } = request;
    const secure = url.protocol === 'https:';
    const outgoing: OutgoingHttpHeaders = { ...request.headers };
    if (body instanceof Uint8Array) outgoing['content-length'] = body.byteLength;
    else if (body === undefined && method !== 'GET' && method !== 'HEAD') outgoing['content-length'] = 0;
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method,
        headers: outgoing,
        agent: secure ? https : http,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      let response: IncomingMessage | undefined;
      // The socket idle timeout covers connecting, waiting for headers, and a body that stalls half-way.
      req.setTimeout(options.timeoutMs, () => {
        if (response?.complete) return;
        const err = idleTimeout(url, options.timeoutMs);
        response?.destroy(err);
        req.destroy(err);
      });
      req.on('error', reject);
      req.once('response', (res) => {
        response = res;
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          url,
          body: res,
        });
      });
      if (body instanceof Readable) {
        // A body that failed (or was closed) before this request was made will never end: piping it
        // would leave the request waiting for data until the idle timeout.
        const gone =
          body.errored ??
          (body.destroyed && !body.readableEnded
            ? new Error('the request body was closed before it was sent')
            : undefined);
        if (gone) {
          req.destroy(gone);
          return;
        }
        body.once('error', (err) => req.destroy(err));
        body.pipe(req);
      } else if (typeof body === 'function') {
        body(req);
      } else {
        req.end(body);
      }
    });
  };
  return {
    send,
    close: () => {
      http.destroy();
      https.destroy();
    },
  };
}
