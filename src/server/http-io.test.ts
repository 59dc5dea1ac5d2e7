import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { type HttpError, readBody, requestPath } from './http-io.ts';

/** A server that reads each body with readBody(limit), says what came of it, and keeps it in `seen`. */
async function withReader(limit: number, fn: (port: number, seen: string[]) => Promise<void>): Promise<void> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    readBody(req, limit).then(
      (body) => {
        seen.push(`ok ${body.length}`);
        res.end(`ok ${body.length}`);
      },
      (err: HttpError) => {
        seen.push(`${err.status} ${err.message}`);
        res.writeHead(err.status).end(`${err.status} ${err.message}`);
      },
    );
  });
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
      await post(port, ['x'], { 'content-length': '11' }).catch(() => undefined);
      // The answer may be lost while the client still writes; what the server decided is not.
      await post(port, ['01234', '56789', 'x']).catch(() => undefined);
      for (let i = 0; i < 50 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, ['ok 10', '413 request body over 10 bytes', '413 request body over 10 bytes']);
    });
  });

  it('a client that goes away mid-body is the request failing (400), never a hang', async () => {
    const seen: Promise<unknown>[] = [];
    const server = createServer((req: IncomingMessage) => {
      seen.push(readBody(req, 1000).catch((e: HttpError) => e.status));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': '100' } });
    req.on('error', () => undefined);
    req.write('only part of it');
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await Promise.all(seen), [400]);
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
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
