// skopeo 1.9.3 against the archives airlock writes (oci-archive:, docker-archive:), and airlock
// against the archives skopeo writes. Skipped, visibly, where /usr/bin/skopeo is absent.
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  makeTestImage,
  makeTestReferrer,
  sha256,
  skopeo,
  skopeoMissing,
  type TestImage,
} from '../../../test/helpers/oci-images.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { openLayoutStore } from '../layout/layout-store.ts';
import { DOCKER_MANIFEST } from '../media-types.ts';
import type { Descriptor, ImageStore } from '../types.ts';
import { openDockerArchive } from './docker-archive.ts';
import { openOciArchive } from './oci-archive.ts';

const root = useTempDir('airlock-skopeo-archive-');
let temps: string;
let src: string;
let img: TestImage;
before(async () => {
  temps = join(root, 'temps');
  await mkdir(temps);
  src = join(root, 'src');
  img = await makeTestImage(await openLayoutStore(src, { create: true }), { tag: 'v1' });
});

async function readBlob(store: ImageStore, desc: Descriptor): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getBlob(desc)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Copies the test image from the source layout into an airlock store, tagged. */
async function fill(store: ImageStore, tag: string): Promise<void> {
  const from = await openLayoutStore(src);
  for (const b of [img.config, ...img.layers]) await store.putBlob(b, await from.getBlob(b));
  await store.putManifest(await from.getManifest(img.manifest.digest), tag);
}

function diffIds(config: Buffer): string[] {
  return JSON.parse(config.toString()).rootfs.diff_ids;
}

describe('skopeo interop: oci-archive', { skip: skopeoMissing() }, () => {
  it('skopeo inspects and copies an oci-archive airlock wrote, keeping the digest', async () => {
    const file = join(root, 'airlock-oci.tar');
    const w = await openOciArchive(file, { mode: 'write', tempDir: temps });
    await fill(w, 'v1');
    await w.close();
    assert.equal(JSON.parse(await skopeo('inspect', `oci-archive:${file}:v1`)).Digest, img.manifest.digest);
    assert.equal(JSON.parse(await skopeo('inspect', `oci-archive:${file}`)).Digest, img.manifest.digest);
    const out = join(root, 'from-airlock-oci');
    await skopeo('copy', `oci-archive:${file}:v1`, `oci:${out}:v1`);
    assert.equal((await (await openLayoutStore(out)).resolveTag('v1')).digest, img.manifest.digest);
  });

  it('airlock reads an oci-archive skopeo wrote, with the same digest', async () => {
    const file = join(root, 'skopeo-oci.tar');
    await skopeo('copy', `oci:${src}:v1`, `oci-archive:${file}:v1`);
    const r = await openOciArchive(file, { mode: 'read', tempDir: temps });
    assert.equal((await r.resolveTag('v1')).digest, img.manifest.digest);
    for (const b of [img.config, ...img.layers]) assert.equal(sha256(await readBlob(r, b)), b.digest);
    await r.close();
    assert.deepEqual(await readdir(temps), []);
  });
});

describe('skopeo interop: docker-archive', { skip: skopeoMissing() }, () => {
  it('skopeo inspects and copies a docker-archive airlock wrote (gzip layers kept as .tar.gz)', async () => {
    const file = join(root, 'airlock-docker.tar');
    const w = await openDockerArchive(file, { mode: 'write', tempDir: temps });
    await fill(w, 'registry.example/app:v1');
    const referrer = await makeTestReferrer(w, img.manifest);
    await w.addReferrer(img.manifest, referrer);
    await w.close();
    // skopeo serves docker-archive layers by diff ID (decompressing them), so its Layers are the diff IDs.
    const info = JSON.parse(await skopeo('inspect', `docker-archive:${file}`));
    const config = await readBlob(await openLayoutStore(src), img.config);
    assert.deepEqual(info.Layers, diffIds(config));
    assert.equal(
      JSON.parse(await skopeo('inspect', `docker-archive:${file}:registry.example/app:v1`)).Architecture,
      'amd64',
    );
    const out = join(root, 'from-airlock-docker');
    await skopeo('copy', `docker-archive:${file}`, `oci:${out}:x`);
    const copied = await openLayoutStore(out);
    const manifest = JSON.parse((await copied.getManifest((await copied.resolveTag('x')).digest)).bytes.toString());
    const copiedConfig = await readBlob(copied, manifest.config);
    assert.deepEqual(diffIds(copiedConfig), diffIds(config));
    for (const [i, l] of (manifest.layers as Descriptor[]).entries()) {
      assert.equal(sha256(gunzipSync(await readBlob(copied, l))), diffIds(config)[i]);
    }
    // And airlock itself gets the original digest and the referrer back.
    const r = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    assert.equal((await r.resolveTag(undefined)).digest, img.manifest.digest);
    assert.deepEqual(
      (await r.listReferrers(img.manifest.digest)).map((d) => d.digest),
      [referrer.digest],
    );
    await r.close();
  });

  it('airlock reads a docker-archive skopeo wrote: synthesised manifest, layers = the diff IDs', async () => {
    const file = join(root, 'skopeo-docker.tar');
    await skopeo('copy', `oci:${src}:v1`, `docker-archive:${file}:example.com/app:v1`);
    const r = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual(await r.listTags(), ['example.com/app:v1']);
    const desc = await r.resolveTag('example.com/app:v1');
    assert.equal(desc.mediaType, DOCKER_MANIFEST);
    const manifest = JSON.parse((await r.getManifest(desc.digest)).bytes.toString());
    const config = await readBlob(r, manifest.config);
    assert.equal(manifest.config.digest, img.config.digest, 'skopeo keeps the config bytes');
    assert.deepEqual(
      (manifest.layers as Descriptor[]).map((l) => l.digest),
      diffIds(config),
    );
    for (const l of manifest.layers as Descriptor[]) assert.equal(sha256(await readBlob(r, l)), l.digest);
    await r.close();
    // The synthesised manifest carries over to a layout unchanged. (skopeo 1.9.3 itself would not
    // find it there by tag: it only resolves index.json entries with OCI media types.)
    const r2 = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    const out = join(root, 'resynth');
    const dst = await openLayoutStore(out, { create: true });
    for (const b of [manifest.config, ...manifest.layers] as Descriptor[]) await dst.putBlob(b, await r2.getBlob(b));
    await dst.putManifest(await r2.getManifest(desc.digest), 'v1');
    await r2.close();
    assert.equal((await (await openLayoutStore(out)).resolveTag('v1')).digest, desc.digest);
    assert.deepEqual(await readdir(temps), []);
  });
});
