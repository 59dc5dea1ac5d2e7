import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../../errors.ts';
import { startFakeServer, type TestServer } from '../../../test/helpers/registry.ts';
import { parseWwwAuthenticate } from './auth.ts';
import { openRegistryStore } from './store.ts';

describe('parseWwwAuthenticate', () => {
  it('reads a Bearer challenge as the token spec writes it', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",' +
          'scope="repository:samalba/my-app:pull,push"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:samalba/my-app:pull,push',
          },
        },
      ],
    );
  });

  it('reads several challenges, token values, escapes and token68', () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Negotiate abc==, Basic realm="a \\"quoted\\" realm", charset=UTF-8, Bearer ' +
          'realm=https://x/token ,error="insufficient_scope"',
      ),
      [
        { scheme: 'negotiate', params: {} },
        { scheme: 'basic', params: { realm: 'a "quoted" realm', charset: 'UTF-8' } },
        { scheme: 'bearer', params: { realm: 'https://x/token', error: 'insufficient_scope' } },
      ],
    );
    assert.deepEqual(
      parseWwwAuthenticate(['Basic realm="r"', 'Bearer realm="t"']).map((c) => c.scheme),
      ['basic', 'bearer'],
    );
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
    assert.deepEqual(parseWwwAuthenticate('   '), []);
  });
});

interface TokenWorld {
  registry: TestServer;
  tokens: TestServer;
  issued: string[][];
}

/** A registry that demands Bearer tokens and the token service that issues them (token spec). */
async function tokenWorld(realmFor: (tokens: TestServer) => string = (t) => `${t.url}/token`): Promise<TokenWorld> {
  const issued: string[][] = [];
  const tokens = await startFakeServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== `Basic ${Buffer.from('bob:hunter2').toString('base64')}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"incorrect username or password"}');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    issued.push([url.searchParams.get('service') ?? '', ...scopes]);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: `tok:${scopes.join(' ')}`, expires_in: 300 }));
  });
  const realm = realmFor(tokens);
  const registry = await startFakeServer((req, res) => {
    const needed = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push';
    const scope = `repository:app:${needed}`;
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer tok:') || !auth.slice('Bearer tok:'.length).split(' ').includes(scope)) {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="${realm}",service="fake-registry",scope="${scope}"`,
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (req.url === '/v2/app/tags/list')
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"app","tags":["a","b"]}');
    else
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
  });
  return { registry, tokens, issued };
}

describe('Bearer token authentication', () => {
  it('fetches a token for the scope a request needs, with the credentials, and reuses it', async () => {
    const world = await tokenWorld();
    try {
      const store = await openRegistryStore(
        { registry: world.registry.host, repository: 'app' },
        { insecure: true, credentials: { username: 'bob', password: 'hunter2' } },
      );
      assert.deepEqual(await store.listTags(), ['a', 'b']);
      assert.deepEqual(await store.listTags(), ['a', 'b']);
      const digest = `sha256:${'a'.repeat(64)}`;
      assert.equal(await store.hasBlob({ mediaType: 'x', digest, size: 1 }), false);
      await Promise.all([store.listTags(), store.listTags(), store.listTags()]);
      assert.deepEqual(world.issued, [['fake-registry', 'repository:app:pull']], 'one token serves every pull');
      // Credentials only go where a challenge asked for them: the first request carries none.
      assert.equal(world.registry.requests[0]?.headers.authorization, undefined);
      assert.equal(world.registry.requests.length, 2 + 1 + 1 + 3);
    } finally {
      await world.registry.stop();
      await world.tokens.stop();
    }
  });

  it('asks for a push token when pushing', async () => {
    const world = await tokenWorld();
    try {
      const store = await openRegistryStore(
        { registry: world.registry.host, repository: 'app' },
        { insecure: true, credentials: { username: 'bob', password: 'hunter2' } },
      );
      await assert.rejects(
        store.putBlob({ mediaType: 'x', digest: `sha256:${'b'.repeat(64)}`, size: 1 }, Buffer.from('x')),
        (err) => isAirlockError(err, 'E_DIGEST_MISMATCH'),
      );
      await assert.rejects(
        store.mountBlob({ mediaType: 'x', digest: `sha256:${'b'.repeat(64)}`, size: 1 }, 'other'),
        (err) => isAirlockError(err, 'E_INPUT_MISSING'),
      );
      assert.deepEqual(world.issued, [
        ['fake-registry', 'repository:app:pull'],
        ['fake-registry', 'repository:app:pull,push', 'repository:other:pull'],
      ]);
    } finally {
      await world.registry.stop();
      await world.tokens.stop();
    }
  });

  it('reports refused credentials without leaking them', async () => {
    const world = await tokenWorld();
    try {
      const store = await openRegistryStore(
        { registry: world.registry.host, repository: 'app' },
        { insecure: true, credentials: { username: 'bob', password: 'wrong-password' } },
      );
      await assert.rejects(store.listTags(), (err) => {
        assert.ok(isAirlockError(err, 'E_UNAVAILABLE'));
        assert.match(
          err.message,
          // eslint-disable-next-line max-len -- a whole message or wire format, matched as one regular expression
          /fetching a token from http:\/\/127\.0\.0\.1:\d+\/token failed: HTTP 401: the registry refused the credentials of 'bob'/,
        );
        assert.match(err.hint ?? '', /--username/);
        assert.doesNotMatch(`${err.message} ${err.hint} ${JSON.stringify(err.details)}`, /wrong-password/);
        return true;
      });
    } finally {
      await world.registry.stop();
      await world.tokens.stop();
    }
  });

  it('refuses to send credentials to a plain-HTTP token realm off loopback', async () => {
    const world = await tokenWorld(() => 'http://auth.example.com/token');
    try {
      const store = await openRegistryStore(
        { registry: world.registry.host, repository: 'app' },
        { insecure: true, credentials: { username: 'bob', password: 'hunter2' } },
      );
      await assert.rejects(
        store.listTags(),
        (err) =>
          isAirlockError(err, 'E_UNAVAILABLE') &&
          /refusing to fetch a token from http:\/\/auth\.example\.com: not HTTPS/.test(err.message),
      );
      assert.equal(world.tokens.requests.length, 0);
    } finally {
      await world.registry.stop();
      await world.tokens.stop();
    }
  });
});
