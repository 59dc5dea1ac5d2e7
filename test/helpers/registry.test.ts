import assert from 'node:assert/strict';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import { registryAvailable, startRegistry } from './registry.ts';

function httpsGet(
  url: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const plainSkip = registryAvailable();
const securedSkip = registryAvailable({ tls: true, htpasswd: { username: 'u', password: 'p' } });

describe('startRegistry', () => {
  it('serves the distribution API over plain HTTP', { skip: plainSkip }, async () => {
    const registry = await startRegistry();
    try {
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
      const res = await fetch(`${registry.url}/v2/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    } finally {
      await registry.stop();
    }
  });

  it('serves HTTPS from a test CA and demands basic auth', { skip: securedSkip }, async () => {
    const registry = await startRegistry({ tls: true, htpasswd: { username: 'alice', password: 's3cret' } });
    try {
      assert.ok(registry.caPem?.includes('BEGIN CERTIFICATE'));
      assert.ok(registry.url.startsWith('https://'));
      const anonymous = await httpsGet(`${registry.url}/v2/`, registry.caPem ?? '');
      assert.equal(anonymous.status, 401);
      assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="airlock-test"/);
      const authed = await httpsGet(`${registry.url}/v2/`, registry.caPem ?? '', {
        authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}`,
      });
      assert.equal(authed.status, 200);
    } finally {
      await registry.stop();
    }
  });
});
