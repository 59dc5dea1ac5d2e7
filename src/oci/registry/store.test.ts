// openRegistryStore against Debian's real docker-registry (distribution 2.8), and against hand-written
// servers for the misbehaviour a real registry will not produce on demand (wrong bytes, lies).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { useTempDir, withTempDir } from '../../../test/helpers/temp-dir.ts';
import { digestFile, parseDigest } from '../../crypto/digest.ts';
import { isAirlockError } from '../../errors.ts';
import { openLayoutStore } from '../layout/layout-store.ts';
import {
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03,
} from '../media-types.ts';
import type { Descriptor, StoredManifest } from '../types.ts';
import {
  registryAvailable,
  startCountingProxy,
  startFakeServer,
  startRegistry,
  type TestRegistry,
} from '../../../test/helpers/registry.ts';
import { BULK_MIN_BYTES, openRegistryStore, type RegistryStore } from './store.ts';

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

interface Blob {
  readonly desc: Descriptor;
  readonly bytes: Buffer;
}

function blob(content: Buffer | string, mediaType: string): Blob {
  const bytes = Buffer.from(content);
  return { desc: { mediaType, digest: sha256(bytes), size: bytes.length }, bytes };
}

function manifestOf(json: unknown, mediaType: string): StoredManifest {
  const bytes = Buffer.from(JSON.stringify(json));
  return { bytes, mediaType, digest: sha256(bytes) };
}

function describeManifest(m: StoredManifest, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, ...extra };
}

/** A small image: a config and two random layers. */
function image(arch = 'amd64'): { config: Blob; layers: Blob[]; manifest: StoredManifest } {
  const layers = [blob(randomBytes(3000), OCI_LAYER_TAR_GZIP), blob(randomBytes(1234), OCI_LAYER_TAR_GZIP)];
  const config = blob(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.desc.digest) },
    }),
    OCI_CONFIG,
  );
  const manifest = manifestOf(
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.desc, layers: layers.map((l) => l.desc) },
    OCI_MANIFEST,
  );
  return { config, layers, manifest };
}

async function pushImage(store: RegistryStore, img: ReturnType<typeof image>, tag?: string): Promise<void> {
  await store.putBlob(img.config.desc, img.config.bytes);
  // Layers as streams, the way a copier hands them over.
  for (const layer of img.layers)
    await store.putBlob(layer.desc, Readable.from([layer.bytes.subarray(0, 1000), layer.bytes.subarray(1000)]));
  await store.putManifest(img.manifest, tag);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An artifact manifest (cosign v3 bundle shape, design note §3.3) whose subject is `subject`. */
function referrerOf(subject: Descriptor, payload: string): { layer: Blob; manifest: StoredManifest } {
  const layer = blob(payload, SIGSTORE_BUNDLE_V03);
  const manifest = manifestOf(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_EMPTY, size: 2, digest: EMPTY_JSON_DIGEST },
      layers: [layer.desc],
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope' },
      subject,
      artifactType: SIGSTORE_BUNDLE_V03,
    },
    OCI_MANIFEST,
  );
  return { layer, manifest };
}

const plainSkip = registryAvailable();

describe('openRegistryStore against docker-registry 2.8', { skip: plainSkip }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
  });
  const open = (repository: string, options = {}) =>
    openRegistryStore({ registry: registry.host, repository }, { insecure: true, ...options });

  it('pushes an image and reads it back by tag and by digest', async () => {
    const store = await open('team/app');
    const img = image();
    await pushImage(store, img, 'v1');
    assert.equal(store.description, `docker://${registry.host}/team/app`);

    const resolved = await store.resolveTag('v1');
    assert.deepEqual(resolved, {
      mediaType: OCI_MANIFEST,
      digest: img.manifest.digest,
      size: img.manifest.bytes.length,
    });
    const stored = await store.getManifest(img.manifest.digest);
    assert.deepEqual(stored, img.manifest);
    for (const b of [img.config, ...img.layers]) {
      assert.equal(await store.hasBlob(b.desc), true);
      assert.deepEqual(await readAll(await store.getBlob(b.desc)), b.bytes);
    }
    assert.equal(await store.hasManifest(img.manifest.digest), true);
    assert.deepEqual(await store.listTags(), ['v1']);
    await store.close();
  });

  it('round-trips a blob large enough to be read with bulkGet', async () => {
    const store = await open('team/large');
    const big = blob(randomBytes(BULK_MIN_BYTES + 12_345), OCI_LAYER_TAR_GZIP);
    await store.putBlob(big.desc, Readable.from([big.bytes]));
    assert.ok((await readAll(await store.getBlob(big.desc))).equals(big.bytes));
    await store.close();
  });

  it(
    'writes large blobs downloaded side by side into a layout, while a blob read into memory stays ' + 'intact',
    async () => {
      const store = await open('team/many');
      const bigs = [1, 2, 3].map((i) => blob(randomBytes(BULK_MIN_BYTES + i * 100_003), OCI_LAYER_TAR_GZIP));
      for (const big of bigs) await store.putBlob(big.desc, big.bytes);
      // The folder is removed first, then the store closed.
      await withTempDir('airlock-bulk-layout-', async (layoutDir) => {
        const layout = await openLayoutStore(layoutDir, { create: true });
        // The layout's sink recycles the download buffers it has written; pieces kept in memory by another
        // reader are never recycled, so they must still hold their bytes after the other downloads ran.
        const kept: Buffer[] = [];
        const inMemory = (async () => {
          for await (const chunk of await store.getBlob((bigs[0] as Blob).desc)) kept.push(chunk as Buffer);
        })();
        await Promise.all(
          [...bigs, ...bigs].map(async (big, i) => {
            const other = await openLayoutStore(join(layoutDir, String(i)), { create: true });
            await other.putBlob(big.desc, await store.getBlob(big.desc));
          }),
        );
        await inMemory;
        await Promise.all(bigs.map(async (big) => layout.putBlob(big.desc, await store.getBlob(big.desc))));
        for (const big of bigs)
          assert.deepEqual(await digestFile(join(layoutDir, 'blobs', 'sha256', big.desc.digest.slice(7))), {
            ...parseDigest(big.desc.digest),
            size: big.desc.size,
          });
        assert.ok(Buffer.concat(kept).equals((bigs[0] as Blob).bytes));
      }).finally(() => store.close());
    },
  );

  it('reports what is missing as E_INPUT_MISSING, naming registry and repository', async () => {
    const store = await open('team/missing');
    const absent = blob('absent', OCI_LAYER_TAR_GZIP);
    assert.equal(await store.hasBlob(absent.desc), false);
    assert.equal(await store.hasManifest(absent.desc.digest), false);
    assert.deepEqual(await store.listTags(), []);
    await assert.rejects(store.resolveTag('nope'), (err) => {
      assert.ok(isAirlockError(err, 'E_INPUT_MISSING'));
      assert.match(
        err.message,
        new RegExp(`docker://${registry.host}/team/missing: resolving tag 'nope' failed: HTTP 404`),
      );
      return true;
    });
    await assert.rejects(store.getManifest(absent.desc.digest), (err) => isAirlockError(err, 'E_INPUT_MISSING'));
    await assert.rejects(
      store.getBlob(absent.desc),
      (err) => isAirlockError(err, 'E_INPUT_MISSING') && /BLOB_UNKNOWN/.test(err.message),
    );
  });

  it('pushes an index of two platform manifests', async () => {
    const store = await open('team/multi');
    const amd = image('amd64');
    const arm = image('arm64');
    await pushImage(store, amd);
    await pushImage(store, arm);
    const index = manifestOf(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          describeManifest(amd.manifest, { platform: { architecture: 'amd64', os: 'linux' } }),
          describeManifest(arm.manifest, { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }),
        ],
      },
      OCI_INDEX,
    );
    await store.putManifest(index, 'latest');
    const resolved = await store.resolveTag(undefined);
    assert.deepEqual(resolved, describeManifest(index));
    const back = await store.getManifest(index.digest);
    assert.equal(back.mediaType, OCI_INDEX);
    const parsed = JSON.parse(back.bytes.toString()) as { manifests: Descriptor[] };
    assert.deepEqual(
      parsed.manifests.map((m) => m.platform?.architecture),
      ['amd64', 'arm64'],
    );
    assert.deepEqual((await store.getManifest(arm.manifest.digest)).bytes, arm.manifest.bytes);
    assert.deepEqual(await store.listTags(), ['latest']);
  });

  it('uploads in PATCH chunks of chunkSize', async () => {
    const proxy = await startCountingProxy(registry.host);
    try {
      const store = await openRegistryStore(
        { registry: proxy.host, repository: 'team/chunked' },
        { insecure: true, chunkSize: 1000 },
      );
      const big = blob(randomBytes(2500), OCI_LAYER_TAR_GZIP);
      await store.putBlob(
        big.desc,
        Readable.from([big.bytes.subarray(0, 700), big.bytes.subarray(700, 2100), big.bytes.subarray(2100)]),
      );
      const small = blob('tiny', OCI_LAYER_TAR_GZIP);
      await store.putBlob(small.desc, small.bytes);
      const calls = proxy.requests.map((r) => r.method);
      assert.deepEqual(calls, ['HEAD', 'POST', 'PATCH', 'PATCH', 'PATCH', 'PUT', 'HEAD', 'POST', 'PATCH', 'PUT']);
      const ranges = proxy.requests.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range']);
      assert.deepEqual(ranges, ['0-999', '1000-1999', '2000-2499', '0-3']);
      assert.deepEqual(await readAll(await store.getBlob(big.desc)), big.bytes);
    } finally {
      await proxy.stop();
    }
  });

  it('does not upload a blob the registry already has', async () => {
    const proxy = await startCountingProxy(registry.host);
    try {
      const store = await openRegistryStore({ registry: proxy.host, repository: 'team/dedup' }, { insecure: true });
      const b = blob(randomBytes(500), OCI_LAYER_TAR_GZIP);
      await store.putBlob(b.desc, b.bytes);
      assert.deepEqual(
        proxy.requests.map((r) => r.method),
        ['HEAD', 'POST', 'PUT'],
      );
      proxy.requests.length = 0;
      const source = Readable.from([b.bytes]);
      await store.putBlob(b.desc, source);
      assert.deepEqual(
        proxy.requests.map((r) => `${r.method} ${r.path}`),
        [`HEAD /v2/team/dedup/blobs/${b.desc.digest}`],
      );
      assert.equal(source.destroyed, true, 'the unneeded source stream is released');
    } finally {
      await proxy.stop();
    }
  });

  it('mounts a blob from another repository instead of uploading it', async () => {
    const proxy = await startCountingProxy(registry.host);
    try {
      const source = await openRegistryStore({ registry: proxy.host, repository: 'team/source' }, { insecure: true });
      const target = await openRegistryStore({ registry: proxy.host, repository: 'team/target' }, { insecure: true });
      const b = blob(randomBytes(800), OCI_LAYER_TAR_GZIP);
      const other = blob(randomBytes(801), OCI_LAYER_TAR_GZIP);
      await source.putBlob(b.desc, b.bytes);
      proxy.requests.length = 0;
      assert.equal(await target.mountBlob(b.desc, 'team/source'), true);
      assert.deepEqual(
        proxy.requests.map((r) => r.method),
        ['HEAD', 'POST'],
      );
      assert.equal(await target.hasBlob(b.desc), true);
      // Not in the source repository: the registry opens an upload session, which mountBlob cancels.
      assert.equal(await target.mountBlob(other.desc, 'team/source'), false);
      proxy.requests.length = 0;
      await target.putBlob(other.desc, other.bytes, { mountFrom: 'team/source' });
      assert.deepEqual(
        proxy.requests.map((r) => r.method),
        ['HEAD', 'POST', 'PUT'],
        'the session the failed mount opened is used for the upload',
      );
      assert.equal(await target.hasBlob(other.desc), true);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses to upload bytes that do not match the descriptor', async () => {
    const store = await open('team/mismatch');
    const b = blob('the real bytes', OCI_LAYER_TAR_GZIP);
    const wrong = Buffer.from('other bytes!!!');
    assert.equal(wrong.length, b.bytes.length);
    await assert.rejects(store.putBlob(b.desc, wrong), (err) => isAirlockError(err, 'E_DIGEST_MISMATCH'));
    await assert.rejects(store.putBlob(b.desc, Readable.from([wrong])), (err) =>
      isAirlockError(err, 'E_DIGEST_MISMATCH'),
    );
    await assert.rejects(store.putBlob(b.desc, Readable.from([b.bytes.subarray(1)])), (err) =>
      isAirlockError(err, 'E_DIGEST_MISMATCH'),
    );
    assert.equal(await store.hasBlob(b.desc), false);
    // Too long: the declared size went out intact (so the registry may well keep that correct blob), but
    // the caller still learns its stream was not what the descriptor said.
    const other = blob('another blob', OCI_LAYER_TAR_GZIP);
    await assert.rejects(store.putBlob(other.desc, Readable.from([other.bytes, Buffer.from('x')])), (err) =>
      isAirlockError(err, 'E_DIGEST_MISMATCH'),
    );
    const chunked = await open('team/mismatch', { chunkSize: 4 });
    await assert.rejects(chunked.putBlob(b.desc, Readable.from([wrong])), (err) =>
      isAirlockError(err, 'E_DIGEST_MISMATCH'),
    );
    assert.equal(await store.hasBlob(b.desc), false);
    const lying = { ...manifestOf({ schemaVersion: 2 }, OCI_MANIFEST), digest: b.desc.digest };
    await assert.rejects(store.putManifest(lying), (err) => isAirlockError(err, 'E_DIGEST_MISMATCH'));
  });

  it('reports a stream that fails while the upload is being set up, without crashing', async () => {
    // As a download does whose connection breaks while putBlob still waits for HEAD and POST.
    const store = await open('team/broken-source');
    const b = blob(randomBytes(5000), OCI_LAYER_TAR_GZIP);
    const source = new Readable({ read() {} });
    const put = store.putBlob(b.desc, source);
    source.destroy(new Error('source connection reset'));
    await assert.rejects(put, /source connection reset/);
    assert.equal(await store.hasBlob(b.desc), false);
  });

  it('records referrers in the sha256-<hex> tag when the registry lacks the referrers API', async () => {
    const store = await open('team/signed');
    const img = image();
    await pushImage(store, img, 'v1');
    const subject = describeManifest(img.manifest);
    assert.equal(await store.supportsReferrersApi(subject.digest), false);
    assert.deepEqual(await store.listReferrers(subject.digest), []);

    await store.putBlob({ mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: 2 }, EMPTY_JSON);
    const refs = [referrerOf(subject, '{"bundle":1}'), referrerOf(subject, '{"bundle":2}')];
    for (const r of refs) {
      await store.putBlob(r.layer.desc, r.layer.bytes);
      await store.putManifest(r.manifest);
    }
    const descs = refs.map((r) =>
      describeManifest(r.manifest, { artifactType: SIGSTORE_BUNDLE_V03, annotations: { not: 'copied' } }),
    );
    await store.addReferrer(subject, descs[1] as Descriptor);
    await store.addReferrer(subject, descs[0] as Descriptor);
    await store.addReferrer(subject, descs[1] as Descriptor);

    const tag = `sha256-${subject.digest.slice('sha256:'.length)}`;
    const fallback = await store.resolveTag(tag);
    assert.equal(fallback.mediaType, OCI_INDEX);
    const bytes = (await store.getManifest(fallback.digest)).bytes.toString();
    const expected = [...descs]
      .sort((a, b) => (a.digest < b.digest ? -1 : 1))
      .map((d) => ({ mediaType: d.mediaType, size: d.size, digest: d.digest, artifactType: SIGSTORE_BUNDLE_V03 }));
    // Byte for byte what go-containerregistry writes (design note §3.4): compact, this key order, sorted.
    assert.equal(bytes, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: expected }));
    assert.deepEqual(await store.listReferrers(subject.digest), expected);
    assert.ok((await store.listTags()).includes(tag));
  });

  it('serialises concurrent addReferrer calls for one subject', async () => {
    const store = await open('team/concurrent');
    const img = image();
    await pushImage(store, img);
    const subject = describeManifest(img.manifest);
    await store.putBlob({ mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: 2 }, EMPTY_JSON);
    const refs = [1, 2, 3, 4].map((n) => referrerOf(subject, `{"n":${n}}`));
    for (const r of refs) {
      await store.putBlob(r.layer.desc, r.layer.bytes);
      await store.putManifest(r.manifest);
    }
    await Promise.all(
      refs.map((r) => store.addReferrer(subject, describeManifest(r.manifest, { artifactType: SIGSTORE_BUNDLE_V03 }))),
    );
    const listed = await store.listReferrers(subject.digest);
    assert.deepEqual(
      listed.map((d) => d.digest),
      refs.map((r) => r.manifest.digest).sort(),
    );
  });
});

const securedSkip = registryAvailable({ tls: true, htpasswd: { username: 'u', password: 'p' } });

describe('openRegistryStore over TLS with basic auth', { skip: securedSkip }, () => {
  let registry: TestRegistry;
  // Registered before the folder below (after hooks run in order): the registry stops first.
  after(async () => {
    await registry?.stop();
  });
  const dir = useTempDir('airlock-authfile-');
  before(async () => {
    registry = await startRegistry({ tls: true, htpasswd: { username: 'alice', password: 'correct horse' } });
  });

  it('pushes and pulls with the CA and credentials', async () => {
    const store = await openRegistryStore(
      { registry: registry.host, repository: 'secure/app' },
      { caPem: registry.caPem, credentials: { username: 'alice', password: 'correct horse' } },
    );
    const img = image();
    await pushImage(store, img, 'v1');
    assert.equal((await store.resolveTag('v1')).digest, img.manifest.digest);
    assert.deepEqual(await readAll(await store.getBlob(img.layers[0]?.desc as Descriptor)), img.layers[0]?.bytes);
  });

  it('reads a large blob over TLS with bulkGet, credentials and private CA included', async () => {
    const store = await openRegistryStore(
      { registry: registry.host, repository: 'secure/large' },
      { caPem: registry.caPem, credentials: { username: 'alice', password: 'correct horse' } },
    );
    const big = blob(randomBytes(BULK_MIN_BYTES + 777), OCI_LAYER_TAR_GZIP);
    await store.putBlob(big.desc, big.bytes);
    assert.ok((await readAll(await store.getBlob(big.desc))).equals(big.bytes));
    await store.close();
  });

  it('finds credentials in an auth file', async () => {
    const file = join(dir, 'config.json');
    await writeFile(
      file,
      JSON.stringify({
        auths: { [`https://${registry.host}`]: { auth: Buffer.from('alice:correct horse').toString('base64') } },
      }),
    );
    const store = await openRegistryStore(
      { registry: registry.host, repository: 'secure/app' },
      { caPem: registry.caPem, authFiles: [join(dir, 'absent.json'), file] },
    );
    assert.deepEqual(await store.listTags(), ['v1']);
  });

  it('says clearly when the password is wrong or missing', async () => {
    const wrong = await openRegistryStore(
      { registry: registry.host, repository: 'secure/app' },
      { caPem: registry.caPem, credentials: { username: 'alice', password: 'wrong' } },
    );
    await assert.rejects(wrong.resolveTag('v1'), (err) => {
      assert.ok(isAirlockError(err, 'E_UNAVAILABLE'));
      assert.match(
        err.message,
        // eslint-disable-next-line max-len -- a whole message or wire format, matched as one regular expression
        /docker:\/\/127\.0\.0\.1:\d+\/secure\/app: resolving tag 'v1' failed: HTTP 401 Unauthorized: the registry refused the credentials of 'alice'/,
      );
      assert.match(err.hint ?? '', /--password-stdin/);
      assert.match(err.hint ?? '', /REGISTRY_AUTH_FILE/);
      assert.doesNotMatch(JSON.stringify(err.toJSON()), /wrong/);
      return true;
    });
    const anonymous = await openRegistryStore(
      { registry: registry.host, repository: 'secure/app' },
      { caPem: registry.caPem },
    );
    await assert.rejects(
      anonymous.listTags(),
      (err) =>
        isAirlockError(err, 'E_UNAVAILABLE') &&
        /requires authentication and no credentials were given/.test(err.message),
    );
  });

  it('does not trust the registry certificate without its CA', async () => {
    const store = await openRegistryStore(
      { registry: registry.host, repository: 'secure/app' },
      { credentials: { username: 'alice', password: 'correct horse' }, retries: 0 },
    );
    await assert.rejects(
      store.listTags(),
      (err) => isAirlockError(err, 'E_UNAVAILABLE') && /not trusted/.test(err.hint ?? ''),
    );
  });
});

describe('openRegistryStore against a registry that serves wrong bytes', () => {
  const good = blob('the bytes that were signed', OCI_LAYER_TAR_GZIP);
  const manifest = manifestOf(
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: good.desc, layers: [] },
    OCI_MANIFEST,
  );
  let served: { blob: Buffer; manifest: Buffer; contentDigest?: string };

  async function withFake(fn: (store: RegistryStore) => Promise<void>): Promise<void> {
    const server = await startFakeServer((req, res) => {
      if (req.url?.includes('/blobs/')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': served.blob.length });
        res.end(served.blob);
      } else if (req.url?.includes('/manifests/')) {
        res.writeHead(200, {
          'content-type': OCI_MANIFEST,
          ...(served.contentDigest ? { 'docker-content-digest': served.contentDigest } : {}),
        });
        res.end(served.manifest);
      } else {
        res.writeHead(404).end();
      }
    });
    try {
      await fn(await openRegistryStore({ registry: server.host, repository: 'evil/app' }, { insecure: true }));
    } finally {
      await server.stop();
    }
  }

  it('fails a blob stream whose bytes do not hash to the digest', async () => {
    served = {
      blob: Buffer.from('the bytes that were swapped!'.slice(0, good.bytes.length)),
      manifest: manifest.bytes,
    };
    assert.equal(served.blob.length, good.bytes.length);
    await withFake(async (store) => {
      const stream = await store.getBlob(good.desc);
      await assert.rejects(
        text(stream),
        (err) => isAirlockError(err, 'E_DIGEST_MISMATCH') && err.message.includes(good.desc.digest),
      );
    });
  });

  it('fails a large blob stream (read with bulkGet) with one byte changed', async () => {
    const big = blob(randomBytes(BULK_MIN_BYTES + 3), OCI_LAYER_TAR_GZIP);
    const swapped = Buffer.from(big.bytes);
    const middle = swapped.length >> 1;
    swapped.writeUInt8((swapped.at(middle) ?? 0) ^ 1, middle);
    served = { blob: swapped, manifest: manifest.bytes };
    await withFake(async (store) => {
      await assert.rejects(
        readAll(await store.getBlob(big.desc)),
        (err) => isAirlockError(err, 'E_DIGEST_MISMATCH') && err.message.includes(big.desc.digest),
      );
    });
  });

  it('reports a large blob whose connection breaks off half-way as E_UNAVAILABLE', async () => {
    const big = blob(randomBytes(BULK_MIN_BYTES + 5), OCI_LAYER_TAR_GZIP);
    const server = await startFakeServer((_req, res) => {
      res.writeHead(200, { 'content-length': big.bytes.length });
      res.write(big.bytes.subarray(0, 1024 * 1024), () => res.socket?.destroy());
    });
    try {
      const store = await openRegistryStore(
        { registry: server.host, repository: 'evil/app' },
        { insecure: true, retries: 0 },
      );
      await assert.rejects(
        readAll(await store.getBlob(big.desc)),
        (err) =>
          isAirlockError(err, 'E_UNAVAILABLE') &&
          /body bytes still to come/.test(err.message) &&
          err.message.includes(big.desc.digest),
      );
    } finally {
      await server.stop();
    }
  });

  it('fails a blob stream longer or shorter than the descriptor says', async () => {
    served = { blob: Buffer.concat([good.bytes, Buffer.from('tail')]), manifest: manifest.bytes };
    await withFake(async (store) => {
      await assert.rejects(
        readAll(await store.getBlob(good.desc)),
        (err) => isAirlockError(err, 'E_DIGEST_MISMATCH') && /expected 26 bytes, found more/.test(err.message),
      );
    });
    served = { blob: good.bytes.subarray(0, 10), manifest: manifest.bytes };
    await withFake(async (store) => {
      await assert.rejects(
        readAll(await store.getBlob(good.desc)),
        (err) => isAirlockError(err, 'E_DIGEST_MISMATCH') && /found 10/.test(err.message),
      );
    });
  });

  it('rejects a manifest that does not hash to the digest asked for', async () => {
    served = {
      blob: good.bytes,
      manifest: Buffer.from(manifest.bytes.toString().replace('"layers":[]', '"layers": []')),
    };
    await withFake(async (store) => {
      await assert.rejects(store.getManifest(manifest.digest), (err) => isAirlockError(err, 'E_DIGEST_MISMATCH'));
    });
  });

  it("computes a tag's digest from the bytes and checks Docker-Content-Digest against them", async () => {
    served = { blob: good.bytes, manifest: manifest.bytes };
    await withFake(async (store) => {
      assert.deepEqual(await store.resolveTag('v1'), describeManifest(manifest));
    });
    served = { blob: good.bytes, manifest: manifest.bytes, contentDigest: good.desc.digest };
    await withFake(async (store) => {
      await assert.rejects(store.resolveTag('v1'), (err) => isAirlockError(err, 'E_DIGEST_MISMATCH'));
    });
  });
});

describe('openRegistryStore options', () => {
  it('refuses plain HTTP to a host that is not loopback', async () => {
    await assert.rejects(
      openRegistryStore({ registry: 'registry.example.com', repository: 'app' }, { insecure: true }),
      (err) => {
        assert.ok(isAirlockError(err, 'E_USAGE'));
        assert.match(err.message, /refusing plain HTTP to registry\.example\.com/);
        return true;
      },
    );
    await assert.rejects(
      openRegistryStore({ registry: '10.0.0.1:5000', repository: 'app' }, { insecure: true }),
      (err) => isAirlockError(err, 'E_USAGE'),
    );
    for (const registry of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5000', '[::1]:5000']) {
      const store = await openRegistryStore({ registry, repository: 'app' }, { insecure: true });
      assert.equal(store.description, `docker://${registry}/app`);
    }
  });

  it('rejects bad repository names, registries and numbers', async () => {
    await assert.rejects(openRegistryStore({ registry: 'r.example', repository: 'Bad/Name' }), (err) =>
      isAirlockError(err, 'E_USAGE'),
    );
    await assert.rejects(openRegistryStore({ registry: 'r.example/path', repository: 'app' }), (err) =>
      isAirlockError(err, 'E_USAGE'),
    );
    await assert.rejects(openRegistryStore({ registry: 'r.example', repository: 'app' }, { chunkSize: -1 }), (err) =>
      isAirlockError(err, 'E_USAGE'),
    );
    await assert.rejects(openRegistryStore({ registry: 'r.example', repository: 'app' }, { concurrency: 0 }), (err) =>
      isAirlockError(err, 'E_USAGE'),
    );
    await assert.rejects(
      openRegistryStore({ registry: 'localhost', repository: 'app' }, { insecure: true, caPem: 'x' }),
      (err) => isAirlockError(err, 'E_USAGE'),
    );
    const store = await openRegistryStore({ registry: 'r.example', repository: 'app' });
    await assert.rejects(store.resolveTag('-bad'), (err) => isAirlockError(err, 'E_USAGE'));
    await assert.rejects(store.getManifest('sha256:abc'), (err) => isAirlockError(err, 'E_INPUT_MALFORMED'));
  });

  it('reports an unreachable registry as E_UNAVAILABLE', async () => {
    const store = await openRegistryStore(
      { registry: '127.0.0.1:1', repository: 'app' },
      { insecure: true, retries: 1, retryDelayMs: 1 },
    );
    await assert.rejects(store.listTags(), (err) => {
      assert.ok(isAirlockError(err, 'E_UNAVAILABLE'));
      assert.match(err.message, /docker:\/\/127\.0\.0\.1:1\/app: listing tags failed: .*ECONNREFUSED/);
      assert.match(err.hint ?? '', /running and reachable/);
      return true;
    });
  });
});
