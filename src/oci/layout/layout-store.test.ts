import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import {
  jsonManifest,
  makeTestImage,
  makeTestIndex,
  makeTestReferrer,
  sha256,
} from '../../../test/helpers/oci-images.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../../errors.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../media-types.ts';
import type { Descriptor } from '../types.ts';
import { REF_NAME } from './layout-files.ts';
import { openLayoutStore } from './layout-store.ts';

const root = useTempDir('airlock-layout-');
let n = 0;
const fresh = (): string => join(root, `layout-${n++}`);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('openLayoutStore', () => {
  it('creates the spec files: oci-layout 1.0.0 and an empty index.json', async () => {
    const dir = fresh();
    await openLayoutStore(dir, { create: true });
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    assert.equal(index.schemaVersion, 2);
    assert.deepEqual(index.manifests, []);
  });

  it('refuses a missing folder, a folder that is not a layout, and a non-empty non-layout for create', async () => {
    await assert.rejects(openLayoutStore(fresh()), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
    const dir = fresh();
    await openLayoutStore(dir, { create: true });
    await rm(join(dir, 'oci-layout'));
    await assert.rejects(openLayoutStore(dir), (e) => isAirlockError(e, 'E_INPUT_MALFORMED'));
    await writeFile(join(dir, 'other'), 'x');
    await assert.rejects(openLayoutStore(dir, { create: true }), (e) => isAirlockError(e, 'E_OUTPUT_EXISTS'));
  });

  it('refuses another imageLayoutVersion and a broken index.json', async () => {
    const dir = fresh();
    await openLayoutStore(dir, { create: true });
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":"sha256:../../etc"}]}');
    await assert.rejects(openLayoutStore(dir), (e) => isAirlockError(e, 'E_INPUT_MALFORMED'));
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await assert.rejects(openLayoutStore(dir), (e) => isAirlockError(e, 'E_INPUT_MALFORMED'));
  });
});

describe('LayoutStore round trip', () => {
  it('reads back by tag and by digest, verified', async () => {
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const img = await makeTestImage(store, { tag: 'v1' });
    const again = await openLayoutStore(dir);
    const desc = await again.resolveTag('v1');
    assert.equal(desc.digest, img.manifest.digest);
    assert.equal(desc.mediaType, OCI_MANIFEST);
    assert.deepEqual(await again.listTags(), ['v1']);
    const stored = await again.getManifest(desc.digest);
    assert.equal(sha256(stored.bytes), img.manifest.digest);
    assert.equal(stored.mediaType, OCI_MANIFEST);
    assert.equal(JSON.parse(stored.bytes.toString()).config.digest, img.config.digest);
    for (const layer of [img.config, ...img.layers]) {
      assert.ok(await again.hasBlob(layer));
      assert.equal(sha256(await readAll(await again.getBlob(layer))), layer.digest);
    }
    assert.equal((await again.resolveTag(undefined)).digest, img.manifest.digest);
    // skopeo's layout: the tag is the ref.name annotation of an index.json descriptor.
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    assert.deepEqual(index.manifests[0].annotations, { [REF_NAME]: 'v1' });
  });

  it('a corrupted blob file fails with E_DIGEST_MISMATCH; a missing one with E_INPUT_MISSING', async () => {
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const img = await makeTestImage(store, { tag: 'v1' });
    const layer = img.layers[0] as Descriptor;
    const path = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = await readFile(path);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff; // same size, other bytes
    await writeFile(path, bytes);
    await assert.rejects(readAll(await store.getBlob(layer)), (e) => isAirlockError(e, 'E_DIGEST_MISMATCH'));
    await writeFile(path, bytes.subarray(1));
    await assert.rejects(store.getBlob(layer), (e) => isAirlockError(e, 'E_DIGEST_MISMATCH'));
    const manifestPath = join(dir, 'blobs', 'sha256', img.manifest.digest.slice(7));
    await writeFile(
      manifestPath,
      (await readFile(manifestPath, 'utf8')).replace('"schemaVersion":2', '"schemaVersion": 2'),
    );
    await assert.rejects(store.getManifest(img.manifest.digest), (e) => isAirlockError(e, 'E_DIGEST_MISMATCH'));
    await rm(path);
    await assert.rejects(store.getBlob(layer), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
  });

  it('putBlob refuses bytes that do not match and leaves nothing behind', async () => {
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const good = randomBytes(1000);
    const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(good), size: good.length };
    await assert.rejects(store.putBlob(desc, randomBytes(1000)), (e) => isAirlockError(e, 'E_DIGEST_MISMATCH'));
    await assert.rejects(store.putBlob({ ...desc, size: 999 }, good), (e) => isAirlockError(e, 'E_DIGEST_MISMATCH'));
    assert.equal(await store.hasBlob(desc), false);
    assert.deepEqual((await readdir(dir)).sort(), ['blobs', 'index.json', 'oci-layout']);
    await store.putBlob(desc, Readable.from([good.subarray(0, 10), good.subarray(10)]));
    assert.ok(await store.hasBlob(desc));
  });

  it('putBlob reports a stream that fails while it waits behind another writer, without crashing', async () => {
    // As a download does whose connection breaks while another putBlob of the same blob is writing.
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const good = randomBytes(1000);
    const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(good), size: good.length };
    const slow = new Readable({ read() {} });
    const first = store.putBlob(desc, slow);
    const waiting = new Readable({ read() {} });
    const second = store.putBlob(desc, waiting);
    waiting.destroy(new Error('source connection reset'));
    await new Promise((resolve) => setImmediate(resolve));
    slow.destroy(new Error('first writer failed too'));
    await assert.rejects(first, /first writer failed too/);
    await assert.rejects(second, /source connection reset/);
    assert.equal(await store.hasBlob(desc), false);
  });

  it('concurrent putBlob of the same and of different blobs, and concurrent tags, are safe', async () => {
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const blobs = Array.from({ length: 8 }, () => randomBytes(64 * 1024));
    const descs = blobs.map((b) => ({ mediaType: 'application/octet-stream', digest: sha256(b), size: b.length }));
    await Promise.all(
      [...blobs, ...blobs, ...blobs].map((b, i) =>
        store.putBlob(descs[i % blobs.length] as Descriptor, Readable.from([b])),
      ),
    );
    for (const d of descs) assert.ok(await store.hasBlob(d));
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('.')),
      [],
    );
    const imgs = await Promise.all(['a', 'b', 'c', 'd'].map((tag) => makeTestImage(store, { tag, layers: 1 })));
    assert.deepEqual((await store.listTags()).sort(), ['a', 'b', 'c', 'd']);
    for (const [i, tag] of ['a', 'b', 'c', 'd'].entries())
      assert.equal((await store.resolveTag(tag)).digest, imgs[i]?.manifest.digest);
  });

  it('moves a tag in place and refuses to tag a manifest whose blobs are missing', async () => {
    const store = await openLayoutStore(fresh(), { create: true });
    await makeTestImage(store, { tag: 'v1' });
    const second = await makeTestImage(store, { tag: 'v2' });
    const third = await makeTestImage(store, { tag: 'v1' });
    assert.deepEqual(await store.listTags(), ['v1', 'v2']);
    assert.equal((await store.resolveTag('v1')).digest, third.manifest.digest);
    assert.equal((await store.resolveTag('v2')).digest, second.manifest.digest);
    const missing = jsonManifest(
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { ...second.config, digest: sha256(randomBytes(4)) },
        layers: [],
      },
      OCI_MANIFEST,
    );
    await assert.rejects(store.putManifest(missing, 'broken'), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
    await assert.rejects(store.putManifest({ ...missing, digest: sha256(randomBytes(4)) }), (e) =>
      isAirlockError(e, 'E_DIGEST_MISMATCH'),
    );
    await assert.rejects(
      store.resolveTag('nope'),
      (e) => isAirlockError(e, 'E_INPUT_MISSING') && /v1, v2/.test(e.hint ?? ''),
    );
  });

  it('resolveTag(undefined) needs exactly one image, ignoring referrers and cosign attachment tags', async () => {
    const store = await openLayoutStore(fresh(), { create: true });
    await assert.rejects(store.resolveTag(undefined), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
    const img = await makeTestImage(store, { tag: 'v1' });
    const referrer = await makeTestReferrer(store, img.manifest);
    await store.addReferrer(img.manifest, referrer);
    // A legacy cosign signature is an image without subject; only its tag says it is an attachment.
    await makeTestImage(store, { tag: `${img.manifest.digest.replace(':', '-')}.sig`, layers: 1 });
    assert.equal((await store.resolveTag(undefined)).digest, img.manifest.digest);
    await makeTestImage(store, { tag: 'v2' });
    await assert.rejects(
      store.resolveTag(undefined),
      (e) => isAirlockError(e, 'E_INPUT_MISSING') && /v1/.test(e.hint ?? '') && /v2/.test(e.hint ?? ''),
    );
  });

  it('resolveTag(undefined) on a cosign save layout picks the kind=…/image entry', async () => {
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const img = await makeTestImage(store);
    const sigs = await makeTestImage(store, { layers: 1 });
    // cosign save's index.json: untagged entries told apart by a "kind" annotation (cosign-formats.md §5.1).
    const kind = (d: Descriptor, k: string): Descriptor => ({
      ...d,
      annotations: { kind: `dev.cosignproject.cosign/${k}` },
    });
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [kind(sigs.manifest, 'sigs'), kind(img.manifest, 'image')],
    };
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    assert.equal((await store.resolveTag(undefined)).digest, img.manifest.digest);
    assert.deepEqual(await store.listTags(), []);
  });

  it('stores a multi-platform index', async () => {
    const store = await openLayoutStore(fresh(), { create: true });
    const { index, images } = await makeTestIndex(
      store,
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      'multi',
    );
    const desc = await store.resolveTag('multi');
    assert.equal(desc.mediaType, OCI_INDEX);
    const stored = await store.getManifest(index.digest);
    assert.equal(stored.mediaType, OCI_INDEX);
    const children = JSON.parse(stored.bytes.toString()).manifests.map((m: Descriptor) => m.digest);
    assert.deepEqual(
      children,
      images.map((i) => i.manifest.digest),
    );
    for (const c of children) assert.ok(await store.hasManifest(c));
  });
});

describe('LayoutStore referrers', () => {
  it('finds referrers left as unreferenced blobs (cosign save) by scanning', async () => {
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const img = await makeTestImage(store, { tag: 'v1' });
    const referrer = await makeTestReferrer(store, img.manifest);
    const other = await makeTestImage(store, { layers: 1 });
    const fresh2 = await openLayoutStore(dir);
    const found = await fresh2.listReferrers(img.manifest.digest);
    assert.deepEqual(
      found.map((d) => d.digest),
      [referrer.digest],
    );
    assert.equal(found[0]?.artifactType, referrer.artifactType);
    assert.deepEqual(await fresh2.listReferrers(other.manifest.digest), []);
    // index.json was not touched: the referrer is only a blob.
    assert.equal(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')).manifests.length, 1);
  });

  it('addReferrer lists it in index.json without a tag; later writes update the cached scan', async () => {
    const dir = fresh();
    const store = await openLayoutStore(dir, { create: true });
    const img = await makeTestImage(store, { tag: 'v1' });
    assert.deepEqual(await store.listReferrers(img.manifest.digest), []); // scan cached now
    const referrer = await makeTestReferrer(store, img.manifest);
    await store.addReferrer(img.manifest, { ...referrer, annotations: { [REF_NAME]: 'x', note: 'kept' } });
    await store.addReferrer(img.manifest, referrer); // idempotent
    assert.deepEqual(
      (await store.listReferrers(img.manifest.digest)).map((d) => d.digest),
      [referrer.digest],
    );
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    const entry = index.manifests.find((d: Descriptor) => d.digest === referrer.digest);
    assert.deepEqual(entry.annotations, { note: 'kept' });
    assert.deepEqual(await store.listTags(), ['v1']);
    const bundle = JSON.parse((await store.getManifest(referrer.digest)).bytes.toString()).layers[0];
    assert.match(await text(await store.getBlob(bundle)), /test/);
    const unknown: Descriptor = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(8)), size: 10 };
    await assert.rejects(store.addReferrer(img.manifest, unknown), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
  });
});
