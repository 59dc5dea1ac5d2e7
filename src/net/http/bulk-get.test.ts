// bulkGet against hand-written servers that send exactly the bytes each case needs: split heads,
// odd framings, lies about length, stalls and early closes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { startFakeServer } from '../../../test/helpers/registry.ts';
import { BufferPool } from '../buffer-pool.ts';
import { type BulkResponse, bulkGet, parseResponseHead } from './bulk-get.ts';
import { createHttpTransport } from './transport.ts';

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

/** A server that answers every connection with `respond`, after reading the request head into `heads`. */
async function rawServer(respond: (socket: Socket) => unknown): Promise<{ url: URL; heads: string[] }> {
  const heads: string[] = [];
  const server = createServer((socket) => {
    let text = '';
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      heads.push(text);
      text = '';
      void respond(socket);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: new URL(`http://127.0.0.1:${address.port}/v2/app/blobs/sha256:x?n=1`), heads };
}

async function readBody(res: BulkResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Writes `data` in pieces of random sizes, some a single byte. */
async function dribble(socket: Socket, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length;) {
    const n = Math.random() < 0.2 ? 1 : Math.floor(Math.random() * 200_000) + 1;
    const ok = socket.write(data.subarray(at, at + n));
    at += n;
    if (!ok) await new Promise((resolve) => socket.once('drain', resolve));
  }
}

const options = { timeoutMs: 5_000 };

describe('bulkGet', () => {
  it('reads a Content-Length body whole, however the server splits head and body', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 5);
    const { url, heads } = await rawServer(async (socket) => {
      await dribble(
        socket,
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Two: a\r\nx-two: b\r\n\r\n`),
          body,
        ]),
      );
      socket.end();
    });
    const res = await bulkGet(url, { authorization: 'Bearer t', 'user-agent': 'test' }, options);
    assert.ok(res);
    assert.equal(res.status, 200);
    assert.equal(res.statusText, 'OK');
    assert.equal(res.headers['x-two'], 'a, b');
    assert.ok((await readBody(res)).equals(body));
    assert.equal(res.body.complete, true);
    const [head] = heads;
    assert.match(
      head ?? '',
      // eslint-disable-next-line max-len -- a whole message or wire format, matched as one regular expression
      /^GET \/v2\/app\/blobs\/sha256:x\?n=1 HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\nauthorization: Bearer t\r\nuser-agent: test\r\nconnection: close\r\n\r\n$/,
    );
  });

  it('keeps every byte when the read that completes the head nearly fills the first buffer', async () => {
    // A small pool makes the first read (up to the socket's receive buffer) fill most of a buffer, so
    // the reader must switch buffers right away: only inside the read callback is that safe.
    const pool = new BufferPool(160 * 1024, 4);
    const body = randomBytes(2 * 1024 * 1024);
    const { url } = await rawServer((socket) =>
      socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body])),
    );
    const pending = bulkGet(url, {}, { ...options, pool });
    // Hold this thread so the kernel gathers a large first read.
    setTimeout(() => {
      const until = Date.now() + 300;
      while (Date.now() < until);
    }, 20);
    const res = await pending;
    assert.ok(res);
    assert.ok((await readBody(res)).equals(body));
  });

  it('waits for a slow reader instead of buffering without bound', async () => {
    const body = randomBytes(12 * 1024 * 1024);
    const { url } = await rawServer((socket) => {
      socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    });
    const res = await bulkGet(url, {}, options);
    assert.ok(res);
    let buffered = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      await sleep(5);
      buffered = Math.max(buffered, res.body.readableLength);
    }
    assert.ok(Buffer.concat(chunks).equals(body));
    // The body's high-water mark is 4 MiB, and a read can add one more 1 MiB buffer.
    assert.ok(buffered <= 5 * 1024 * 1024, `${buffered} bytes buffered`);
  });

  it('answers error statuses with their small bodies, and empty bodies for 204', async () => {
    const { url } = await rawServer((socket) => {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    });
    const res = await bulkGet(url, {}, options);
    assert.equal(res?.status, 404);
    assert.equal(res && (await readBody(res)).toString(), '{}');
    const empty = await rawServer((socket) => socket.end('HTTP/1.1 204 No Content\r\n\r\n'));
    const none = await bulkGet(empty.url, {}, options);
    assert.equal(none && (await readBody(none)).length, 0);
  });

  it('leaves bodies framed any other way to node:http', async () => {
    for (const head of [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\r\nuntil close',
    ]) {
      const { url } = await rawServer((socket) => socket.end(head));
      assert.equal(await bulkGet(url, {}, options), undefined);
    }
  });

  it('leaves heads it finds irregular to node:http', async () => {
    for (const head of [
      'HTTP/2 200 OK\r\nContent-Length: 0',
      'HTTP/1.1 20 OK\r\nContent-Length: 0',
      'HTTP/1.1 200 OK\r\nContent-Length 0',
      'HTTP/1.1 200 OK\r\n folded: value\r\nContent-Length: 0',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2',
      'HTTP/1.1 200 OK\r\nContent-Length: -1',
      'HTTP/1.1 200 OK\r\nContent-Length: 1e3',
      'HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0',
      `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 0`,
    ]) {
      const { url } = await rawServer((socket) => socket.end(`${head}\r\n\r\n`));
      assert.equal(await bulkGet(url, {}, options), undefined, head.slice(0, 60));
    }
  });

  it('accepts a Content-Length repeated with the same value', () => {
    const head = parseResponseHead(
      'HTTP/1.0 200 \r\nContent-Length: 3\r\ncontent-length: 3\r\nSet-Cookie: a\r\nSet-Cookie: b',
      new URL('http://x'),
    );
    assert.deepEqual(head, {
      status: 200,
      statusText: '',
      headers: { 'content-length': '3', 'set-cookie': ['a', 'b'] },
    });
  });

  it('fails the body when the server sends more or fewer bytes than it announced', async () => {
    const more = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef'));
    const res = await bulkGet(more.url, {}, options);
    assert.ok(res);
    await assert.rejects(readBody(res), (err: NodeJS.ErrnoException) => err.code === 'EPROTO');
    const fewer = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const short = await bulkGet(fewer.url, {}, options);
    assert.ok(short);
    await assert.rejects(
      readBody(short),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' && /7 body bytes still to come/.test(err.message),
    );
  });

  it('rejects a connection closed before an answer, or refused, with the codes callers retry', async () => {
    const { url } = await rawServer((socket) => socket.end('HTTP/1.1 200'));
    await assert.rejects(bulkGet(url, {}, options), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    await assert.rejects(
      bulkGet(new URL(`http://127.0.0.1:${port}/`), {}, options),
      (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED',
    );
  });

  it('times out a server that stalls, before or during the body', async () => {
    const silent = await rawServer(() => undefined);
    await assert.rejects(
      bulkGet(silent.url, {}, { timeoutMs: 200 }),
      (err: NodeJS.ErrnoException) => err.code === 'ETIMEDOUT',
    );
    const stalls = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    // Long enough for the head to get through to a process that stalls (GC, a loaded machine) meanwhile.
    const res = await bulkGet(stalls.url, {}, { timeoutMs: 1000 });
    assert.ok(res);
    await assert.rejects(readBody(res), (err: NodeJS.ErrnoException) => err.code === 'ETIMEDOUT');
  });

  it('refuses to send a header value that would smuggle in another header', async () => {
    const { url, heads } = await rawServer((socket) => socket.end('HTTP/1.1 204 No Content\r\n\r\n'));
    await assert.rejects(
      bulkGet(url, { authorization: 'Bearer t\r\nX-Evil: 1' }, options),
      (err: NodeJS.ErrnoException) => err.code === 'EINVAL',
    );
    assert.equal(heads.length, 0);
  });
});

describe('HttpTransport with bulk reads', () => {
  it('survives a redirect whose unread body breaks off or runs over', async () => {
    const body = randomBytes(100_000);
    const storage = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    const transport = createHttpTransport();
    try {
      for (const tail of ['Content-Length: 100\r\n\r\nabc', 'Content-Length: 0\r\n\r\nextra bytes']) {
        const registry = await rawServer((socket) =>
          socket.end(`HTTP/1.1 307 Temporary Redirect\r\nLocation: ${storage.url}/blob\r\n${tail}`),
        );
        const res = await transport.send({ method: 'GET', url: registry.url, redirects: 'any-origin', bulk: true });
        const chunks: Buffer[] = [];
        for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(chunk);
        assert.ok(Buffer.concat(chunks).equals(body));
      }
      await sleep(50); // an error emitted with no listener would have crashed the process by now
    } finally {
      transport.close();
      await storage.stop();
    }
  });

  it(
    'sends a chunked response again through node:http, and follows a redirect with bulk reads on ' + 'both hops',
    async () => {
      const body = randomBytes(2 * 1024 * 1024);
      const storage = await startFakeServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(body); // no Content-Length: chunked
      });
      const registry = await rawServer((socket) =>
        socket.end(`HTTP/1.1 307 Temporary Redirect\r\nLocation: ${storage.url}/blob\r\nContent-Length: 0\r\n\r\n`),
      );
      const transport = createHttpTransport();
      try {
        const res = await transport.send({ method: 'GET', url: registry.url, redirects: 'any-origin', bulk: true });
        assert.equal(res.status, 200);
        const chunks: Buffer[] = [];
        for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(chunk);
        assert.ok(Buffer.concat(chunks).equals(body));
        assert.equal(res.url.href, `${storage.url}/blob`);
      } finally {
        transport.close();
        await storage.stop();
      }
    },
  );
});
