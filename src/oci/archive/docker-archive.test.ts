import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { create as createTar, extract } from 'tar';
import {
  makeLayerTar,
  makeTestImage,
  makeTestIndex,
  makeTestReferrer,
  sha256,
} from '../../../test/helpers/oci-images.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../../errors.ts';
import { DOCKER_CONFIG, DOCKER_LAYER_TAR_GZIP, DOCKER_MANIFEST } from '../media-types.ts';
import type { Descriptor, ImageStore } from '../types.ts';
import { openDockerArchive } from './docker-archive.ts';
import { DOCKER_LAYER_TAR } from './docker-manifest.ts';

const root = useTempDir('airlock-docker-archive-');
let temps: string;
let n = 0;
const fresh = (name = 'image.tar'): string => join(root, `${n++}-${name}`);
before(async () => {
  temps = join(root, 'temps');
  await mkdir(temps);
});

async function blobBytes(store: ImageStore, desc: Descriptor): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getBlob(desc)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function unpack(file: string): Promise<string> {
  const dir = join(root, `${n++}-unpacked`);
  await mkdir(dir);
  await extract({ file, cwd: dir });
  return dir;
}

describe('docker-archive write → read (through airlock/)', () => {
  it('keeps manifest digests, tags, referrers and layer bytes', async () => {
    const file = fresh();
    const w = await openDockerArchive(file, { mode: 'write', tempDir: temps });
    const img = await makeTestImage(w, { tag: 'registry.example/app:v1' });
    const referrer = await makeTestReferrer(w, img.manifest);
    await w.addReferrer(img.manifest, referrer);
    await w.close();
    assert.deepEqual(await readdir(temps), []);

    // The docker side: docker save names, layers byte-exact (gzip kept, named .tar.gz).
    const dir = await unpack(file);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest, [
      {
        Config: `${img.config.digest.slice(7)}.json`,
        RepoTags: ['registry.example/app:v1'],
        Layers: img.layers.map((l) => `${l.digest.slice(7)}.tar.gz`),
      },
    ]);
    for (const l of img.layers)
      assert.equal(sha256(await readFile(join(dir, `${l.digest.slice(7)}.tar.gz`))), l.digest);
    assert.ok((await readdir(join(dir, 'airlock'))).includes('index.json'));

    const r = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual(await r.listTags(), ['registry.example/app:v1']);
    assert.equal((await r.resolveTag(undefined)).digest, img.manifest.digest);
    assert.equal((await r.resolveTag('registry.example/app:v1')).digest, img.manifest.digest);
    const stored = await r.getManifest(img.manifest.digest);
    assert.equal(sha256(stored.bytes), img.manifest.digest);
    for (const b of [img.config, ...img.layers]) assert.equal(sha256(await blobBytes(r, b)), b.digest);
    assert.deepEqual(
      (await r.listReferrers(img.manifest.digest)).map((d) => d.digest),
      [referrer.digest],
    );
    const bundleLayer = JSON.parse((await r.getManifest(referrer.digest)).bytes.toString()).layers[0];
    assert.equal(sha256(await blobBytes(r, bundleLayer)), bundleLayer.digest);
    await assert.rejects(r.putManifest(stored), (e) => isAirlockError(e, 'E_INTERNAL'));
    await r.close();
    assert.deepEqual(await readdir(temps), []);
  });

  it('names an untagged image with options.name; cosign .sig images stay in airlock/ only', async () => {
    const file = fresh();
    const w = await openDockerArchive(file, { mode: 'write', tempDir: temps, name: 'app:latest' });
    const img = await makeTestImage(w);
    // A legacy signature: an image manifest whose layer is not a tar; docker load could not take it.
    const sigLayer = Buffer.from('{"critical":{}}');
    const sig: Descriptor = {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      digest: sha256(sigLayer),
      size: sigLayer.length,
    };
    await w.putBlob(sig, sigLayer);
    await w.putBlob(img.config, await blobBytes(w, img.config));
    const sigManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: img.config,
        layers: [sig],
      }),
    );
    const sigTag = `${img.manifest.digest.replace(':', '-')}.sig`;
    await w.putManifest(
      { bytes: sigManifest, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(sigManifest) },
      sigTag,
    );
    await w.close();
    const dir = await unpack(file);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.length, 1);
    assert.deepEqual(manifest[0].RepoTags, ['app:latest']);
    const r = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual((await r.listTags()).sort(), ['app:latest', sigTag]);
    assert.equal((await r.resolveTag(sigTag)).digest, sha256(sigManifest));
    assert.equal((await r.resolveTag('docker.io/library/app')).digest, img.manifest.digest);
    assert.equal((await r.resolveTag(undefined)).digest, img.manifest.digest);
    await r.close();
  });

  it('an untagged image without a name is written untagged and is still the one image', async () => {
    const file = fresh();
    const w = await openDockerArchive(file, { mode: 'write', tempDir: temps });
    const img = await makeTestImage(w, { layers: 1 });
    await w.close();
    const manifest = JSON.parse(await readFile(join(await unpack(file), 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest[0].RepoTags, []);
    const r = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual(await r.listTags(), []);
    assert.equal((await r.resolveTag(undefined)).digest, img.manifest.digest);
    await r.close();
  });

  it('refuses indexes, tags docker load could not use, and an archive without images', async () => {
    const w = await openDockerArchive(fresh(), { mode: 'write', tempDir: temps });
    await assert.rejects(
      makeTestIndex(w, [{ os: 'linux', architecture: 'amd64' }], 'app:multi'),
      (e) => isAirlockError(e, 'E_UNSUPPORTED') && /--platform/.test(e.hint ?? ''),
    );
    await assert.rejects(makeTestImage(w, { tag: 'v1', layers: 1 }), (e) => isAirlockError(e, 'E_USAGE'));
    await w.discard();
    await assert.rejects(openDockerArchive(fresh(), { mode: 'write', name: 'no tag here/' }), (e) =>
      isAirlockError(e, 'E_USAGE'),
    );
    const empty = fresh();
    const e = await openDockerArchive(empty, { mode: 'write', tempDir: temps });
    await assert.rejects(e.close(), (err) => isAirlockError(err, 'E_INPUT_MISSING'));
    assert.deepEqual(await readdir(temps), []);
    const existing = fresh();
    await writeFile(existing, 'x');
    await assert.rejects(openDockerArchive(existing, { mode: 'write' }), (err) =>
      isAirlockError(err, 'E_OUTPUT_EXISTS'),
    );
  });
});

describe('docker-archive with airlock/ altered on the docker side', () => {
  /** Writes an archive with two tagged images, lets `alter` edit the unpacked tree, and re-tars it. */
  async function altered(
    alter: (dir: string, manifest: Array<Record<string, unknown>>) => Promise<void>,
  ): Promise<string> {
    const file = fresh();
    const w = await openDockerArchive(file, { mode: 'write', tempDir: temps });
    await makeTestImage(w, { tag: 'app:one', layers: 1 });
    await makeTestImage(w, { tag: 'app:two', layers: 1 });
    await w.close();
    const dir = await unpack(file);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    await alter(dir, manifest);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const out = fresh();
    await createTar({ file: out, cwd: dir }, await readdir(dir));
    return out;
  }

  it('swapped RepoTags → E_INPUT_MALFORMED (docker load would tag another image)', async () => {
    const file = await altered(async (_dir, m) => {
      const [a, b] = [m[0]?.RepoTags, m[1]?.RepoTags];
      (m[0] as Record<string, unknown>).RepoTags = b;
      (m[1] as Record<string, unknown>).RepoTags = a;
    });
    await assert.rejects(openDockerArchive(file, { mode: 'read', tempDir: temps }), (e) =>
      isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
  });

  it('an edited config file → E_DIGEST_MISMATCH', async () => {
    const file = await altered(async (dir, m) => {
      const config = join(dir, String(m[0]?.Config));
      await writeFile(
        config,
        (await readFile(config, 'utf8')).replace('"config":{}', '"config":{"Entrypoint":["/evil"]}'),
      );
    });
    await assert.rejects(openDockerArchive(file, { mode: 'read', tempDir: temps }), (e) =>
      isAirlockError(e, 'E_DIGEST_MISMATCH'),
    );
    assert.deepEqual(await readdir(temps), []);
  });

  it('unaltered, it opens', async () => {
    const r = await openDockerArchive(await altered(async () => undefined), { mode: 'read', tempDir: temps });
    assert.deepEqual((await r.listTags()).sort(), ['app:one', 'app:two']);
    await r.close();
  });
});

describe('docker-archive read of a plain docker save archive', () => {
  /** What docker save writes: `<hex>.json`, one tar per layer, manifest.json, no airlock/. */
  async function plainArchive(gzipSecond: boolean): Promise<{ file: string; config: Buffer; layers: Buffer[] }> {
    const dir = join(root, `${n++}-plain`);
    await mkdir(dir);
    const tars = [await makeLayerTar(3000, 'a.bin'), await makeLayerTar(5000, 'b.bin')];
    const layers = gzipSecond ? [tars[0] as Buffer, gzipSync(tars[1] as Buffer)] : tars;
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: tars.map(sha256) },
        config: {},
      }),
    );
    const configName = `${sha256(config).slice(7)}.json`;
    await writeFile(join(dir, configName), config);
    const names = layers.map((l, i) => `layer${i}/layer.tar`);
    for (const [i, l] of layers.entries()) {
      await mkdir(join(dir, `layer${i}`));
      await writeFile(join(dir, names[i] as string), l);
    }
    await writeFile(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: configName, RepoTags: ['app:v1', 'app:latest'], Layers: names }]),
    );
    const file = fresh();
    await createTar({ file, cwd: dir, portable: true }, ['manifest.json', configName, 'layer0', 'layer1']);
    return { file, config, layers };
  }

  it('synthesises a schema2 manifest whose config and layers are the archive files as stored', async () => {
    const { file, config, layers } = await plainArchive(true);
    const r = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual(await r.listTags(), ['app:v1', 'app:latest']);
    const desc = await r.resolveTag('docker.io/library/app:v1');
    assert.equal(desc.mediaType, DOCKER_MANIFEST);
    assert.deepEqual(await r.resolveTag('app:latest'), desc);
    assert.deepEqual(await r.resolveTag(undefined), desc);
    const stored = await r.getManifest(desc.digest);
    assert.equal(sha256(stored.bytes), desc.digest);
    const doc = JSON.parse(stored.bytes.toString());
    assert.equal(doc.mediaType, DOCKER_MANIFEST);
    assert.deepEqual(doc.config, { mediaType: DOCKER_CONFIG, digest: sha256(config), size: config.length });
    assert.deepEqual(
      doc.layers,
      layers.map((l, i) => ({
        mediaType: i === 1 ? DOCKER_LAYER_TAR_GZIP : DOCKER_LAYER_TAR,
        digest: sha256(l),
        size: l.length,
      })),
    );
    for (const l of doc.layers) assert.equal(sha256(await blobBytes(r, l)), l.digest);
    assert.deepEqual(await r.listReferrers(desc.digest), []);
    await assert.rejects(
      r.resolveTag('other:v1'),
      (e) => isAirlockError(e, 'E_INPUT_MISSING') && /app:v1/.test(e.hint ?? ''),
    );
    await r.close();
    // The same archive gives the same digest every time.
    const again = await openDockerArchive(file, { mode: 'read', tempDir: temps });
    assert.equal((await again.resolveTag(undefined)).digest, desc.digest);
    await again.close();
    assert.deepEqual(await readdir(temps), []);
  });

  it('refuses an archive without manifest.json or naming files it lacks', async () => {
    const dir = join(root, `${n++}-bad`);
    await mkdir(dir);
    await writeFile(join(dir, 'other.txt'), 'x');
    const noManifest = fresh();
    await createTar({ file: noManifest, cwd: dir }, ['other.txt']);
    await assert.rejects(openDockerArchive(noManifest, { mode: 'read', tempDir: temps }), (e) =>
      isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
    await writeFile(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: 'missing.json', RepoTags: ['a:b'], Layers: ['../../etc/passwd'] }]),
    );
    const dangling = fresh();
    await createTar({ file: dangling, cwd: dir }, ['manifest.json']);
    const r = await openDockerArchive(dangling, { mode: 'read', tempDir: temps });
    await assert.rejects(r.resolveTag(undefined), (e) => isAirlockError(e, 'E_INPUT_MALFORMED'));
    await r.close();
    assert.deepEqual(await readdir(temps), []);
  });
});
