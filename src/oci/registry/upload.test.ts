// The upload protocol's corners that docker-registry 2.8 does not exercise: relative Location headers,
// OCI-Chunk-Min-Length, cross-host Locations, and cancelling a failed session.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isAirlockError } from '../../errors.ts';
import { startFakeServer } from '../../../test/helpers/registry.ts';
import { openRegistryStore } from './store.ts';

const bytes = Buffer.from('0123456789abcdefghij');
const desc = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
  size: bytes.length,
};

interface Seen {
  method: string;
  url: string;
  range?: string;
  body: string;
}

/** A registry that keeps no blobs, speaks in relative Locations, and records what it received. */
function fakeUploads(options: { minChunk?: number; location?: (n: number) => string; failPut?: boolean } = {}) {
  const seen: Seen[] = [];
  let n = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        ...(req.headers['content-range'] ? { range: String(req.headers['content-range']) } : {}),
        body: Buffer.concat(chunks).toString(),
      });
      const next = () => options.location?.(++n) ?? `/v2/app/blobs/uploads/session?_state=s${++n}`;
      if (req.method === 'HEAD') res.writeHead(404).end();
      else if (req.method === 'POST')
        res
          .writeHead(202, {
            location: next(),
            ...(options.minChunk ? { 'oci-chunk-min-length': String(options.minChunk) } : {}),
          })
          .end();
      else if (req.method === 'PATCH')
        res
          .writeHead(202, { location: next(), range: `0-${String(req.headers['content-range']).split('-')[1]}` })
          .end();
      else if (req.method === 'PUT' && options.failPut)
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}');
      else if (req.method === 'PUT') res.writeHead(201, { 'docker-content-digest': desc.digest }).end();
      else res.writeHead(202).end();
    });
  };
  return { seen, handler };
}

describe('blob upload protocol', () => {
  it('resolves relative Locations and keeps their query (the _state) when adding ?digest=', async () => {
    const fake = fakeUploads();
    const server = await startFakeServer(fake.handler);
    try {
      const store = await openRegistryStore({ registry: server.host, repository: 'app' }, { insecure: true });
      await store.putBlob(desc, Readable.from([bytes]));
      assert.deepEqual(
        fake.seen.map((s) => s.method),
        ['HEAD', 'POST', 'PUT'],
      );
      assert.equal(
        fake.seen[2]?.url,
        `/v2/app/blobs/uploads/session?_state=s1&digest=${encodeURIComponent(desc.digest)}`,
      );
      assert.equal(fake.seen[2]?.body, bytes.toString());
    } finally {
      await server.stop();
    }
  });

  it("raises the chunk size to the registry's OCI-Chunk-Min-Length and follows each new Location", async () => {
    const fake = fakeUploads({ minChunk: 8 });
    const server = await startFakeServer(fake.handler);
    try {
      const store = await openRegistryStore(
        { registry: server.host, repository: 'app' },
        { insecure: true, chunkSize: 3 },
      );
      await store.putBlob(desc, bytes);
      const patches = fake.seen.filter((s) => s.method === 'PATCH');
      assert.deepEqual(
        patches.map((p) => [p.range, p.body]),
        [
          ['0-7', '01234567'],
          ['8-15', '89abcdef'],
          ['16-19', 'ghij'],
        ],
      );
      assert.deepEqual(
        patches.map((p) => p.url.split('=')[1]),
        ['s1', 's2', 's3'],
      );
      const put = fake.seen.at(-1);
      assert.equal(put?.method, 'PUT');
      assert.equal(put?.body, '');
      assert.match(put?.url ?? '', /_state=s4&digest=sha256%3A/);
    } finally {
      await server.stop();
    }
  });

  it('cancels the session when the registry rejects the upload, quoting its error', async () => {
    const fake = fakeUploads({ failPut: true });
    const server = await startFakeServer(fake.handler);
    try {
      const store = await openRegistryStore({ registry: server.host, repository: 'app' }, { insecure: true });
      await assert.rejects(store.putBlob(desc, bytes), (err) => {
        assert.ok(isAirlockError(err, 'E_INPUT_MALFORMED'));
        assert.match(
          err.message,
          // eslint-disable-next-line max-len -- a whole message or wire format, matched as one regular expression
          /uploading blob sha256:[0-9a-f]{64} failed: HTTP 400 Bad Request \(DIGEST_INVALID: provided digest did not match uploaded content\)/,
        );
        return true;
      });
      assert.deepEqual(
        fake.seen.map((s) => s.method),
        ['HEAD', 'POST', 'PUT', 'DELETE'],
      );
    } finally {
      await server.stop();
    }
  });

  it('refuses an upload Location on another host', async () => {
    const fake = fakeUploads({ location: () => 'https://storage.example/upload/1' });
    const server = await startFakeServer(fake.handler);
    try {
      const store = await openRegistryStore({ registry: server.host, repository: 'app' }, { insecure: true });
      const source = Readable.from([bytes]);
      await assert.rejects(
        store.putBlob(desc, source),
        (err) =>
          isAirlockError(err, 'E_INPUT_MALFORMED') && /another origin \(https:\/\/storage\.example\)/.test(err.message),
      );
      assert.equal(source.destroyed, true);
      assert.deepEqual(
        fake.seen.map((s) => s.method),
        ['HEAD', 'POST'],
      );
    } finally {
      await server.stop();
    }
  });

  // The registry answers 202 as soon as the declared bytes are in; a reader that pauses before end()
  // (slow media, tar padding) must not take that answer for a refusal.
  it(
    'a streamed upload: the answer to a complete PATCH before end() is no failure; commit follows ' +
      'the new Location',
    async () => {
      const fake = fakeUploads();
      const server = await startFakeServer(fake.handler);
      try {
        const store = await openRegistryStore({ registry: server.host, repository: 'app' }, { insecure: true });
        const upload = await store.openUpload(desc);
        await upload.write(bytes.subarray(0, 10));
        await upload.write(bytes.subarray(10));
        await new Promise((resolve) => setTimeout(resolve, 50));
        await upload.end();
        await upload.commit();
        assert.deepEqual(
          fake.seen.map((x) => [x.method, x.range ?? '', x.body]),
          [
            ['POST', '', ''],
            ['PATCH', '0-19', bytes.toString()],
            ['PUT', '', ''],
          ],
        );
        assert.match(fake.seen[2]?.url ?? '', /_state=s2&digest=sha256%3A/);
      } finally {
        await server.stop();
      }
    },
  );
});
