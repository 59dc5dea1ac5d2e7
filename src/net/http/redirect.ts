// Redirects, around any Send, by the request's policy: never to another scheme, never from HTTPS down to
// HTTP, never to another host unless asked (blob downloads), and the Authorization header never follows
// a request off its origin.
import { discard } from './body.ts';
import { HttpFailure } from './failure.ts';
import type { Send } from './types.ts';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

export function withRedirects(inner: Send): Send {
  return async (request) => {
    const policy =
      request.redirects ?? (request.method === 'GET' || request.method === 'HEAD' ? 'same-origin' : 'none');
    const headers: Record<string, string> = { ...request.headers };
    let url = request.url;
    for (let hop = 0; ; hop++) {
      const res = await inner({ ...request, url, headers });
      const location = res.headers.location;
      if (!REDIRECTS.has(res.status) || !location || policy === 'none') return res;
      discard(res);
      if (hop >= MAX_REDIRECTS)
        throw new HttpFailure('EREDIRECT', `more than ${MAX_REDIRECTS} redirects from ${request.url.origin}`);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:')
        throw new HttpFailure('EREDIRECT', `refusing a redirect to ${next.protocol} URL`);
      if (url.protocol === 'https:' && next.protocol === 'http:')
        throw new HttpFailure('EREDIRECT', `refusing a redirect from HTTPS to plain HTTP (${next.origin})`);
      if (next.origin !== url.origin) {
        if (policy !== 'any-origin')
          throw new HttpFailure('EREDIRECT', `refusing a redirect from ${url.origin} to another host (${next.origin})`);
        delete headers.authorization;
      }
      url = next;
    }
  };
}
