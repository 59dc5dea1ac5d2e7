// The bench's load client against a real node:http server: the figures are only as good as its
// framing, so both of the server's framings, split reads and a refusal are checked.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LoadConnection, parseResponse, renderPost } from './http-client.ts';

describe('bench load client', () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (req.url === '/chunked') {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.write(`{"got":`);
          res.end(`${JSON.stringify(body)}}`);
        } else if (req.url === '/refuse') res.writeHead(400, { 'content-length': '2' }).end('no');
        else res.writeHead(201, { 'content-length': String(Buffer.byteLength(body) + 2) }).end(`[${body}]`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('reads Content-Length and chunked answers, one after another on one connection', async () => {
    const c = await LoadConnection.open(url);
    try {
      for (let i = 0; i < 3; i++) {
        const sized = await c.send(renderPost(url, '/sized', `{"n":${i}}`));
        assert.deepEqual([sized.status, sized.body.toString()], [201, `[{"n":${i}}]`]);
        const chunked = await c.send(renderPost(url, '/chunked', `é${i}`));
        assert.deepEqual([chunked.status, JSON.parse(chunked.body.toString())], [201, { got: `é${i}` }]);
      }
      const refused = await c.send(renderPost(url, '/refuse', '{}'));
      assert.deepEqual([refused.status, refused.body.toString()], [400, 'no']);
    } finally {
      c.close();
    }
  });

  it('waits for a response split anywhere, and takes only its own bytes', () => {
    const whole = Buffer.from(
      'HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nHTTP/1.1 ',
    );
    const end = whole.length - 'HTTP/1.1 '.length;
    for (let cut = 0; cut < end; cut++) assert.equal(parseResponse(whole.subarray(0, cut)), undefined, `cut at ${cut}`);
    const parsed = parseResponse(whole);
    assert.deepEqual([parsed?.response.status, parsed?.response.body.toString(), parsed?.length], [201, 'abcde', end]);
  });

  it('fails a request when the server goes away, and refuses garbage', async () => {
    const c = await LoadConnection.open(url);
    c.close();
    await assert.rejects(c.send(renderPost(url, '/sized', '{}')));
    assert.throws(() => parseResponse(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), /not an HTTP\/1\.1 response/);
  });
});
