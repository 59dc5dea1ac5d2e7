import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { bodyDone, closeServer, DRAIN_BOUND, HttpError, readBody, requestHandler, requestPath } from './http-io.ts';

/**
 * A server as airlock's are made (requestHandler): its one route reads each body with readBody(limit),
 * or refuses at once with 404 when the path is /refuse; what came of each request is kept in `seen`.
 */
async function withReader(limit: number, fn: (port: number, seen: string[]) => Promise<void>): Promise<void> {
  const seen: string[] = [];
  const server = createServer(
    requestHandler({
      route: (req, res) => {
        if (req.url === '/refuse') throw new HttpError(404, 'E_USAGE', 'no such route');
        return readBody(req, limit).then((body) => {
          res.end(`ok ${body.length}`);
          return { route: 'read', extra: { length: body.length } };
        });
      },
      answered: (_req, _res, routed) => seen.push(`ok ${String(routed.extra?.length)}`),
      failed: (_req, res, err) => {
        const e = err as HttpError;
        seen.push(`${e.status} ${e.message}`);
        res.writeHead(e.status).end(`${e.status} ${e.message}`);
      },
    }),
  );
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    await fn((server.address() as AddressInfo).port, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
}

function post(port: number, chunks: string[], headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('readBody', () => {
  it('reads a body up to the limit; past it, declared or streamed, 413', async () => {
    await withReader(10, async (port, seen) => {
      assert.equal(await post(port, ['0123456789']), 'ok 10');
      assert.equal(await post(port, ['01234567890'], { 'content-length': '11' }), '413 request body over 10 bytes');
      assert.equal(await post(port, ['01234', '56789', 'x']), '413 request body over 10 bytes');
      assert.deepEqual(seen, ['ok 10', '413 request body over 10 bytes', '413 request body over 10 bytes']);
    });
  });

  for (const [how, path, headers, answer] of [
    ['a body past the limit, declared', '/', { 'content-length': '29' }, '413 request body over 10 bytes'],
    ['a body past the limit, streamed', '/', {}, '413 request body over 10 bytes'],
    ['a request refused before its body is read', '/refuse', {}, '404 no such route'],
  ] as const)
    it(`${how}: answered once the body has ended, so the answer reaches a client still writing`, async () => {
      await withReader(10, async (port, seen) => {
        let sent = false;
        let early = false; // answered before the client had sent the whole body
        const answered = new Promise<string>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers, agent: false }, (res) => {
            early = !sent;
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => (text += d));
            res.on('end', () => resolve(text));
          });
          req.on('error', reject);
          req.write('0123456789abcde');
          setTimeout(() => {
            sent = true;
            req.end('fghijklmnopqrs');
          }, 150);
        });
        assert.equal(await answered, answer);
        assert.equal(early, false, 'answered while the rest of the body was still coming');
        assert.deepEqual(seen, [answer]);
      });
    });

  it('a body declared past the drain bound is refused at once, not waited for', async () => {
    await withReader(10, async (port, seen) => {
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { 'content-length': String(DRAIN_BOUND + 1) },
        agent: false,
      });
      req.on('error', () => undefined);
      req.on('response', (res) => res.resume());
      req.write('x'); // and nothing more: the server must not wait for the rest
      for (let i = 0; i < 250 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      req.destroy();
      assert.deepEqual(seen, ['413 request body over 10 bytes']);
    });
  });

  it('a client that goes away mid-body is the request failing (400), never a hang', async () => {
    const seen: Promise<unknown>[] = [];
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const server = createServer((req: IncomingMessage) => {
      seen.push(readBody(req, 1000).catch((e: HttpError) => e.status));
      received();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': '100' } });
    req.on('error', () => undefined);
    req.write('only part of it');
    // Gone once the server has the request, not after a fixed wait a loaded machine can outlast.
    await arrived;
    req.destroy();
    assert.deepEqual(await Promise.all(seen), [400]);
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });
});

describe('bodyDone and closeServer: a client that stalls is not waited for without end', () => {
  /** A server whose handler hands each request to `onRequest`; a client that sends part of a body and stalls. */
  async function stalledClient(onRequest: (req: IncomingMessage) => void) {
    const server = createServer(onRequest);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': '100' } });
    req.on('error', () => undefined);
    req.write('only part of it');
    return { server, req };
  }

  it('bodyDone gives up on a body that stops coming, after the wait it is given', async () => {
    let waited!: (p: Promise<void>) => void;
    const waiting = new Promise<Promise<void>>((resolve) => (waited = resolve));
    const { server, req } = await stalledClient((incoming) => waited(bodyDone(incoming, 100)));
    await await waiting; // resolves: the test would time out otherwise
    req.destroy();
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it('bodyDone reads a body a route paused', async () => {
    const server = createServer((req, res) => {
      req.pause();
      void bodyDone(req).then(() => res.end('drained'));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.write('part one, ');
      setTimeout(() => req.end('part two'), 50);
    });
    assert.equal(answer, 'drained');
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it('closeServer cuts a connection whose request never ends, after the grace it is given', async () => {
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    const { server, req } = await stalledClient(() => arrived());
    await seen;
    await closeServer(server, 100); // resolves: the test would time out otherwise
    assert.equal(server.listening, false);
    req.destroy();
  });
});

describe('requestPath', () => {
  it('plain paths as they are; anything else as a URL parser reads it', () => {
    const path = (url: string) => requestPath({ url } as IncomingMessage);
    assert.equal(path('/validate'), '/validate');
    assert.equal(path('/'), '/');
    assert.equal(path('/a/../validate'), '/validate');
    assert.equal(path('/validate?x=1'), '/validate');
    assert.equal(path('//validate'), '//validate');
    assert.equal(path('http://host/mutate'), '/mutate');
    assert.throws(() => path('*'), /neither a path nor an http\(s\) URL/);
  });
});
