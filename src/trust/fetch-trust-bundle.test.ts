// fetchTrustBundle against a real node:http server: the path it asks, the answer parsed, and each way it
// can fail — unreachable, an error status, a redirect, an answer too large, an answer that is no bundle.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createPrivateCa, type PrivateCa } from '../../test/helpers/private-ca.ts';
import { freePort } from '../../test/helpers/process.ts';
import { isAirlockError } from '../errors.ts';
import { createHttpTransport } from '../net/http/transport.ts';
import { fetchTrustBundle, trustBundleUrl } from './fetch-trust-bundle.ts';

type Reply = { status: number; body: string; headers?: Record<string, string> };

describe('fetchTrustBundle', () => {
  let ca: PrivateCa;
  let server: Server;
  let base: string;
  let reply: Reply;
  const paths: string[] = [];
  // No retries: each case is one request, and an unreachable port fails at once.
  const transport = createHttpTransport({ retries: 0 });
  const options = { transport, timeoutMs: 5_000 };

  before(async () => {
    ca = await createPrivateCa('corp fulcio');
    const port = await freePort();
    server = createServer((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    transport.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await ca.cleanup();
  });

  it("GETs {url}/api/v2/trustBundle and returns the CA's chain", async () => {
    reply = { status: 200, body: JSON.stringify({ chains: [{ certificates: [ca.rootPem] }] }) };
    paths.length = 0;
    const bundle = await fetchTrustBundle(`${base}/`, options);
    assert.deepEqual(paths, ['GET /api/v2/trustBundle']);
    assert.equal(bundle.chains[0]?.[0]?.raw.toString('base64'), ca.rootDer.toString('base64'));
  });

  it('E_UNAVAILABLE on an error status or a redirect (not followed), naming the URL', async () => {
    for (const r of [
      { status: 404, body: 'not found' },
      { status: 302, body: '', headers: { location: 'https://elsewhere.example/api/v2/trustBundle' } },
    ]) {
      reply = r;
      await assert.rejects(
        fetchTrustBundle(base, options),
        (err: unknown) =>
          isAirlockError(err, 'E_UNAVAILABLE') &&
          err.message.includes(trustBundleUrl(base)) &&
          err.message.includes(`HTTP ${r.status}`),
      );
    }
  });

  it('E_UNAVAILABLE when nothing listens', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(fetchTrustBundle(url, options), (err: unknown) => isAirlockError(err, 'E_UNAVAILABLE'));
  });

  it('E_UNAVAILABLE for an answer past the bound, E_INPUT_MALFORMED for one that is no trust bundle', async () => {
    reply = { status: 200, body: JSON.stringify({ chains: [{ certificates: ['x'.repeat(300 * 1024)] }] }) };
    await assert.rejects(
      fetchTrustBundle(base, options),
      (err: unknown) => isAirlockError(err, 'E_UNAVAILABLE') && /bytes|large|limit/i.test(err.message),
    );
    reply = { status: 200, body: JSON.stringify({ issuers: [] }) };
    await assert.rejects(fetchTrustBundle(base, options), (err: unknown) => isAirlockError(err, 'E_INPUT_MALFORMED'));
  });
});
