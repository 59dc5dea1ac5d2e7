import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../../errors.ts';
import { DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, SIGSTORE_BUNDLE_V03 } from '../media-types.ts';
import type { Descriptor } from '../types.ts';
import { startFakeServer } from '../../../test/helpers/registry.ts';
import { parseReferrersIndex, referrersTag, serializeIndex, withReferrer } from './referrers.ts';
import { openRegistryStore } from './store.ts';

const d = (c: string): Descriptor => ({
  mediaType: OCI_MANIFEST,
  digest: `sha256:${c.repeat(64)}`,
  size: 10,
  artifactType: SIGSTORE_BUNDLE_V03,
});

describe('referrers tag schema', () => {
  it('names the tag <alg>-<hex>, the hex capped at 64 characters', () => {
    assert.equal(referrersTag(`sha256:${'ab'.repeat(32)}`), `sha256-${'ab'.repeat(32)}`);
    assert.equal(referrersTag(`sha512:${'c'.repeat(128)}`), `sha512-${'c'.repeat(64)}`);
    assert.throws(
      () => referrersTag('sha256:short'),
      (err) => isAirlockError(err, 'E_INPUT_MALFORMED'),
    );
  });

  it('appends {mediaType,size,digest,artifactType}, de-duplicated and sorted by digest', () => {
    const first = withReferrer(undefined, {
      ...d('c'),
      annotations: { dropped: 'yes' },
      platform: { architecture: 'amd64', os: 'linux' },
    });
    assert.ok(first);
    assert.equal(
      serializeIndex(first).toString(),
      `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[{"mediaType":"${OCI_MANIFEST}` +
        `","size":10,"digest":"sha256:${'c'.repeat(64)}","artifactType":"${SIGSTORE_BUNDLE_V03}"}]}`,
    );
    const second = withReferrer(first, d('a'));
    assert.deepEqual(
      second?.manifests.map((m) => m.digest[7]),
      ['a', 'c'],
    );
    assert.equal(withReferrer(second, d('a')), undefined, 'already listed: nothing to write');
    const noType = withReferrer(undefined, { mediaType: OCI_MANIFEST, digest: d('e').digest, size: 3 });
    assert.deepEqual(noType?.manifests[0], { mediaType: OCI_MANIFEST, size: 3, digest: d('e').digest });
  });

  it('keeps what an existing index holds', () => {
    const existing = parseReferrersIndex(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ ...d('f'), annotations: { k: 'v' } }],
          annotations: { a: 'b' },
        }),
      ),
      undefined,
      'tag',
    );
    const next = withReferrer(existing, d('0'));
    assert.deepEqual(next?.annotations, { a: 'b' });
    assert.deepEqual(next?.manifests[1], { ...d('f'), annotations: { k: 'v' } });
  });

  it('refuses to treat anything but an OCI index as the referrers list', () => {
    const parse = (json: unknown, type?: string) => () =>
      parseReferrersIndex(Buffer.from(JSON.stringify(json)), type, 'r:sha256-x');
    assert.throws(
      parse({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] }),
      (err) => isAirlockError(err, 'E_INPUT_MALFORMED') && /not an OCI image index/.test(err.message),
    );
    assert.throws(parse({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [] }), (err) =>
      isAirlockError(err, 'E_INPUT_MALFORMED'),
    );
    assert.throws(parse({ schemaVersion: 1, manifests: [] }, OCI_INDEX), (err) =>
      isAirlockError(err, 'E_INPUT_MALFORMED'),
    );
    assert.throws(parse({ schemaVersion: 2, manifests: [{ digest: 'nope' }] }, OCI_INDEX), (err) =>
      isAirlockError(err, 'E_INPUT_MALFORMED'),
    );
    assert.deepEqual(
      parseReferrersIndex(Buffer.from('{"schemaVersion":2,"manifests":[]}'), OCI_INDEX, 'api').manifests,
      [],
    );
  });
});

describe('a registry with the referrers API', () => {
  it('is read through the API, page by page, and addReferrer writes nothing', async () => {
    const subject = `sha256:${'5'.repeat(64)}`;
    const server = await startFakeServer((req, res) => {
      if (req.url === `/v2/app/referrers/${subject}`) {
        res.writeHead(200, { 'content-type': OCI_INDEX, link: `</v2/app/referrers/${subject}?page=2>; rel="next"` });
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [d('1')] }));
      } else if (req.url === `/v2/app/referrers/${subject}?page=2`) {
        res.writeHead(200, { 'content-type': `${OCI_INDEX}; charset=utf-8` });
        res.end(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: [{ ...d('2'), annotations: { from: 'api' } }],
          }),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    try {
      const store = await openRegistryStore({ registry: server.host, repository: 'app' }, { insecure: true });
      assert.deepEqual(await store.listReferrers(subject), [d('1'), { ...d('2'), annotations: { from: 'api' } }]);
      assert.equal(await store.supportsReferrersApi(subject), true);
      const before = server.requests.length;
      await store.addReferrer({ mediaType: OCI_MANIFEST, digest: subject, size: 1 }, d('3'));
      assert.equal(server.requests.length, before, 'the registry indexes subjects itself');
    } finally {
      await server.stop();
    }
  });

  it('follows Link pagination of the tag list too, on the registry only', async () => {
    const server = await startFakeServer((req, res) => {
      const [, repo, query] = /^\/v2\/(\w+)\/tags\/list\??(.*)$/.exec(req.url ?? '') ?? [];
      if (query === '')
        res
          .writeHead(200, { link: `</v2/${repo}/tags/list?last=b&n=2>; rel="next"` })
          .end('{"name":"x","tags":["a","b"]}');
      else if (repo === 'app') res.writeHead(200).end('{"name":"app","tags":["c"]}');
      else
        res
          .writeHead(200, { link: '<http://elsewhere.example/v2/evil/tags/list?last=c>; rel="next"' })
          .end('{"name":"evil","tags":["c"]}');
    });
    try {
      const store = await openRegistryStore({ registry: server.host, repository: 'app' }, { insecure: true });
      assert.deepEqual(await store.listTags(), ['a', 'b', 'c']);
      const evil = await openRegistryStore({ registry: server.host, repository: 'evil' }, { insecure: true });
      // The third page is on another host: refused rather than sending our credentials there.
      await assert.rejects(
        evil.listTags(),
        (err) => isAirlockError(err, 'E_INPUT_MALFORMED') && /another origin/.test(err.message),
      );
      assert.equal(server.requests.length, 4);
    } finally {
      await server.stop();
    }
  });
});
