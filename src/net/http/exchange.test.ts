import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFakeServer } from '../../../test/helpers/registry.ts';
import { exchange, failureReason, header } from './exchange.ts';
import { HttpFailure } from './failure.ts';
import { createHttpTransport } from './transport.ts';

describe('exchange', () => {
  it('reads a whole answer up to the bound, and refuses one past it however it is framed', async () => {
    const server = await startFakeServer((req, res) => {
      if (req.url === '/fits') res.writeHead(200, { 'x-log-index': '7' }).end('abcdef');
      else if (req.url === '/declared') res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
      else res.writeHead(200).end('y'.repeat(5000)); // chunked
    });
    const transport = createHttpTransport();
    try {
      const fits = await exchange(
        { method: 'GET', url: new URL(`${server.url}/fits`) },
        { maxBytes: 6, deadlineMs: 5000 },
        transport,
      );
      assert.equal(fits.body.toString(), 'abcdef');
      assert.equal(header(fits.headers, 'x-log-index'), '7');
      for (const path of ['/declared', '/chunked']) {
        await assert.rejects(
          exchange(
            { method: 'GET', url: new URL(`${server.url}${path}`) },
            { maxBytes: 4096, deadlineMs: 5000 },
            transport,
          ),
          (err) => err instanceof HttpFailure && err.code === 'ETOOLARGE',
        );
      }
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('returns the status of an error answer, with its body when it fits and without it when not', async () => {
    const server = await startFakeServer((req, res) => {
      if (req.url === '/conflict') res.writeHead(409).end('{"logIndex":"3"}');
      else res.writeHead(500).end('z'.repeat(5000));
    });
    const transport = createHttpTransport();
    try {
      const conflict = await exchange(
        { method: 'POST', url: new URL(`${server.url}/conflict`), body: Buffer.from('{}') },
        { maxBytes: 1024, deadlineMs: 5000 },
        transport,
      );
      assert.deepEqual([conflict.status, conflict.body.toString()], [409, '{"logIndex":"3"}']);
      const huge = await exchange(
        { method: 'GET', url: new URL(`${server.url}/huge`) },
        { maxBytes: 1024, deadlineMs: 5000 },
        transport,
      );
      assert.deepEqual([huge.status, huge.body.length], [500, 0]);
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('ends an answer that trickles in at the deadline, which an idle timeout alone would not', async () => {
    const server = await startFakeServer((_req, res) => {
      res.writeHead(200);
      const drip = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(drip));
    });
    // The idle timeout is far longer than the deadline, and each drip resets it.
    const transport = createHttpTransport({ timeoutMs: 10_000, retries: 0 });
    try {
      await assert.rejects(
        exchange({ method: 'GET', url: new URL(server.url) }, { maxBytes: 1 << 20, deadlineMs: 400 }, transport),
        (err) => err instanceof HttpFailure && err.code === 'ETIMEDOUT' && /no answer within 0\.4 s/.test(err.message),
      );
    } finally {
      transport.close();
      await server.stop();
    }
  });

  it('returns a redirect to the caller that asked for none', async () => {
    const server = await startFakeServer((_req, res) =>
      res.writeHead(307, { location: 'https://elsewhere.example/' }).end(),
    );
    const transport = createHttpTransport();
    try {
      const res = await exchange(
        { method: 'POST', url: new URL(server.url), body: Buffer.from('q'), redirects: 'none' },
        { maxBytes: 1024, deadlineMs: 5000 },
        transport,
      );
      assert.deepEqual([res.status, header(res.headers, 'location')], [307, 'https://elsewhere.example/']);
    } finally {
      transport.close();
      await server.stop();
    }
  });
});

describe('failureReason', () => {
  it('keeps the cause a wrapper hides, once', () => {
    const refused = new Error('request failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    assert.equal(failureReason(refused), 'request failed: connect ECONNREFUSED 127.0.0.1:1');
    const same = new Error('x', { cause: new Error('x') });
    assert.equal(failureReason(same), 'x');
    assert.equal(failureReason('odd'), 'odd');
  });
});
