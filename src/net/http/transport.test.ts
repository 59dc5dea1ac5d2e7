import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { startFakeServer } from '../../../test/helpers/registry.ts';
import { createHttpTransport, HttpFailure, mediaTypeOf, nextLink, readBody, retryAfterMs } from './transport.ts';

describe('HttpTransport', () => {
  it('retries 429/502/503/504 honouring Retry-After, but not other 5xx', async () => {
    let calls = 0;
    const server = await startFakeServer((req, res) => {
      calls++;
      if (req.url === '/flaky' && calls === 1) res.writeHead(503, { 'retry-after': '0' }).end();
      else if (req.url === '/flaky' && calls === 2) res.writeHead(429, { 'retry-after': '0' }).end();
      else if (req.url === '/broken') res.writeHead(500).end();
      else res.writeHead(200).end('ok');
    });
    const transport = createHttpTransport({ retryDelayMs: 1 });
    try {
      const ok = await transport.send({ method: 'GET', url: new URL(`${server.url}/flaky`) });
      assert.equal(ok.status, 200);
      assert.equal((await readBody(ok, 10)).toString(), 'ok');
      assert.equal(calls, 3);
      calls = 0;
      const broken = await transport.send({ method: 'GET', url: new URL(`${server.url}/broken`) });
      assert.equal(broken.status, 500);
      assert.equal(calls, 1, 'distribution spec: other 5xx are terminal');
      calls = 0;
      // Writes are not repeated unless the caller says they are idempotent.
      const put = await transport.send({ method: 'PUT', url: new URL(`${server.url}/flaky`), body: Buffer.from('x') });
      assert.equal(put.status, 503);
      assert.equal(calls, 1);
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('waits as the clock it is given says: backoff with its jitter, a Retry-After date against its now', async () => {
    let calls = 0;
    const server = await startFakeServer((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(503).end();
      else if (calls === 2) res.writeHead(503, { 'retry-after': 'Wed, 21 Oct 2015 07:28:10 GMT' }).end();
      else res.writeHead(200).end('ok');
    });
    const waits: number[] = [];
    const clock = {
      now: () => Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'),
      sleep: async (ms: number) => void waits.push(ms),
      random: () => 0.5,
    };
    const transport = createHttpTransport({ retryDelayMs: 100, clock });
    try {
      assert.equal((await transport.send({ method: 'GET', url: new URL(`${server.url}/x`) })).status, 200);
      assert.deepEqual(
        waits,
        [125, 10_000],
        "first: 100 ms × (1 + 0.5/2); then the server's date, 10 s after the clock's now",
      );
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('gives up after the configured retries', async () => {
    let calls = 0;
    const server = await startFakeServer((_req, res) => {
      calls++;
      res.writeHead(503).end();
    });
    const transport = createHttpTransport({ retries: 2, retryDelayMs: 1 });
    try {
      const res = await transport.send({ method: 'GET', url: new URL(server.url) });
      assert.equal(res.status, 503);
      assert.equal(calls, 3);
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('times out a response that stalls half-way', async () => {
    const server = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
    });
    // The head must get through before the idle timeout: a process stalled that long (GC, a loaded machine)
    // between the request and its head would time out the head instead.
    const transport = createHttpTransport({ timeoutMs: 1000, retries: 0 });
    try {
      const res = await transport.send({ method: 'GET', url: new URL(server.url) });
      await assert.rejects(readBody(res, 1000), (err) => err instanceof HttpFailure && err.code === 'ETIMEDOUT');
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('fails at once, not at the idle timeout, a request whose body failed or closed before it was sent', async () => {
    const server = await startFakeServer((req, res) => {
      req.resume().on('end', () => res.writeHead(201).end());
    });
    const transport = createHttpTransport({ timeoutMs: 30_000, retries: 0 });
    try {
      const failed = new Readable({ read() {} });
      failed.on('error', () => undefined).destroy(new Error('source connection reset'));
      await assert.rejects(
        transport.send({ method: 'PUT', url: new URL(server.url), headers: { 'content-length': '10' }, body: failed }),
        /source connection reset/,
      );
      const closed = new Readable({ read() {} });
      closed.destroy();
      await assert.rejects(
        transport.send({ method: 'PUT', url: new URL(server.url), headers: { 'content-length': '10' }, body: closed }),
        /closed before it was sent/,
      );
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('bounds the bodies it reads whole', async () => {
    const server = await startFakeServer((req, res) => {
      if (req.url === '/declared') res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
      else {
        res.writeHead(200); // chunked: no length up front
        res.end('y'.repeat(5000));
      }
    });
    const transport = createHttpTransport();
    try {
      for (const path of ['/declared', '/chunked']) {
        const res = await transport.send({ method: 'GET', url: new URL(`${server.url}${path}`) });
        await assert.rejects(readBody(res, 4096), (err) => err instanceof HttpFailure && err.code === 'ETOOLARGE');
      }
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('follows a redirect to another host only when allowed, and never forwards Authorization there', async () => {
    const storage = await startFakeServer((_req, res) => res.writeHead(200).end('blob bytes'));
    const registry = await startFakeServer((req, res) => {
      if (req.url === '/local') res.writeHead(307, { location: '/moved' }).end();
      else if (req.url === '/moved') res.writeHead(200).end('here');
      else res.writeHead(307, { location: `${storage.url}/signed?sig=abc` }).end();
    });
    const transport = createHttpTransport();
    try {
      const headers = { authorization: 'Bearer secret-token' };
      const blob = await transport.send({
        method: 'GET',
        url: new URL(`${registry.url}/v2/a/blobs/sha256:x`),
        headers,
        redirects: 'any-origin',
      });
      assert.equal((await readBody(blob, 100)).toString(), 'blob bytes');
      assert.equal(blob.url.origin, storage.url);
      assert.equal(storage.requests[0]?.headers.authorization, undefined);
      assert.equal(registry.requests[0]?.headers.authorization, 'Bearer secret-token');

      await assert.rejects(
        transport.send({ method: 'GET', url: new URL(`${registry.url}/v2/a/manifests/v1`), headers }),
        (err) => err instanceof HttpFailure && err.code === 'EREDIRECT' && /another host/.test(err.message),
      );
      const local = await transport.send({ method: 'GET', url: new URL(`${registry.url}/local`), headers });
      assert.equal((await readBody(local, 100)).toString(), 'here');
      assert.equal(
        registry.requests.at(-1)?.headers.authorization,
        'Bearer secret-token',
        'same-origin redirects keep credentials',
      );
      assert.equal(storage.requests.length, 1);
    } finally {
      transport.close();
      await registry.stop();
      await storage.stop();
    }
  });
});

describe('header helpers', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(retryAfterMs('3', 0), 3000);
    assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
    assert.equal(retryAfterMs('soon', 0), undefined);
    assert.equal(retryAfterMs(undefined, 0), undefined);
  });

  it('finds the rel="next" Link', () => {
    assert.equal(nextLink('</v2/app/tags/list?last=b&n=2>; rel="next"'), '/v2/app/tags/list?last=b&n=2');
    assert.equal(nextLink('<https://r.example/a?x=1>; rel=next'), 'https://r.example/a?x=1');
    assert.equal(nextLink('</prev>; rel="prev", </next>; type="x"; rel="next"'), '/next');
    assert.equal(nextLink('</other>; rel="nextish"'), undefined);
    assert.equal(nextLink(undefined), undefined);
  });

  it('strips Content-Type parameters', () => {
    assert.equal(
      mediaTypeOf('application/vnd.oci.image.index.v1+json; charset=utf-8'),
      'application/vnd.oci.image.index.v1+json',
    );
    assert.equal(mediaTypeOf(undefined), undefined);
  });
});
