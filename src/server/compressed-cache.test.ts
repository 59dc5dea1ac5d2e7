import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CompressedCache } from './compressed-cache.ts';
import { acceptsGzip } from './log-server.ts';

describe('CompressedCache', () => {
  it('compresses once per key, shares a compression in flight, and serves the kept bytes after', async () => {
    const cache = new CompressedCache(1 << 20);
    const body = Buffer.from('entry '.repeat(10_000));
    const [a, b] = await Promise.all([cache.gzip('0.p256', body), cache.gzip('0.p256', body)]);
    assert.equal(a, b, 'one compression for two requests at once');
    assert.ok(gunzipSync(a).equals(body));
    assert.equal(cache.get('0.p256'), a);
    assert.equal(await cache.gzip('0.p256', Buffer.from('not looked at: the key names the bytes')), a);
    assert.equal(cache.size, 1);
  });

  it('keeps at most its bound, dropping the least recently served first', async () => {
    const body = () => randomBytes(40_000); // incompressible: ~40 KB each
    const cache = new CompressedCache(100_000);
    await cache.gzip('a', body());
    await cache.gzip('b', body());
    cache.get('a');
    await cache.gzip('c', body());
    assert.ok(cache.bytes <= 100_000);
    assert.deepEqual(
      ['a', 'b', 'c'].map((k) => cache.get(k) !== undefined),
      [true, false, true],
    );
    await cache.gzip('huge', randomBytes(200_000));
    assert.equal(cache.get('huge'), undefined, 'larger than the bound: served, not kept');
  });
});

describe('acceptsGzip', () => {
  it('reads Accept-Encoding as RFC 9110 has it, q=0 included', () => {
    for (const yes of ['gzip', 'br, gzip;q=0.5', 'GZIP', '*', 'deflate, *;q=0.1', 'x-gzip'])
      assert.equal(acceptsGzip(yes), true, yes);
    for (const no of [
      undefined,
      '',
      'identity',
      'gzip;q=0',
      'gzip;q=0.0, br',
      '*;q=0',
      'gzip;q=0, *',
      'gzipx',
      'ungzip',
    ])
      assert.equal(acceptsGzip(no), false, String(no));
  });
});
