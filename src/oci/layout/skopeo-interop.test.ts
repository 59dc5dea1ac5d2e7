// What skopeo (the reference for oci: layouts) makes of layouts airlock writes, and the reverse.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  makeTestImage,
  makeTestIndex,
  makeTestReferrer,
  sha256,
  skopeo,
  skopeoMissing,
} from '../../../test/helpers/oci-images.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { OCI_INDEX } from '../media-types.ts';
import type { ImageStore } from '../types.ts';
import { openLayoutStore } from './layout-store.ts';

const root = useTempDir('airlock-skopeo-layout-');

async function readBlob(store: ImageStore, desc: { mediaType: string; digest: string; size: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getBlob(desc)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('skopeo interop: oci: layouts', { skip: skopeoMissing() }, () => {
  it('skopeo inspects what airlock wrote, byte for byte', async () => {
    const dir = join(root, 'written');
    const store = await openLayoutStore(dir, { create: true });
    const img = await makeTestImage(store, { tag: 'v1' });
    await makeTestReferrer(store, img.manifest).then((r) => store.addReferrer(img.manifest, r));
    const info = JSON.parse(await skopeo('inspect', `oci:${dir}:v1`));
    assert.equal(info.Digest, img.manifest.digest);
    assert.equal(info.Layers.length, 2);
    const raw = Buffer.from(await skopeo('inspect', '--raw', `oci:${dir}:v1`));
    assert.ok(raw.equals((await store.getManifest(img.manifest.digest)).bytes));
  });

  it('airlock reads what skopeo copy wrote, with the same digests (image and multi-platform index)', async () => {
    const src = join(root, 'src');
    const store = await openLayoutStore(src, { create: true });
    const img = await makeTestImage(store, { tag: 'v1' });
    const idx = await makeTestIndex(
      store,
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      'multi',
    );
    const dst = join(root, 'copied');
    await skopeo('copy', `oci:${src}:v1`, `oci:${dst}:v1`);
    await skopeo('copy', '--all', `oci:${src}:multi`, `oci:${dst}:multi`);
    const copied = await openLayoutStore(dst);
    assert.deepEqual((await copied.listTags()).sort(), ['multi', 'v1']);
    assert.equal((await copied.resolveTag('v1')).digest, img.manifest.digest);
    const multi = await copied.resolveTag('multi');
    assert.equal(multi.digest, idx.index.digest);
    assert.equal((await copied.getManifest(multi.digest)).mediaType, OCI_INDEX);
    for (const b of [img.config, ...img.layers, ...idx.images.flatMap((i) => [i.config, ...i.layers])]) {
      assert.equal(sha256(await readBlob(copied, b)), b.digest);
    }
    // skopeo writes index.json without mediaType; airlock must not need it.
    assert.equal(JSON.parse(await readFile(join(dst, 'index.json'), 'utf8')).schemaVersion, 2);
    // Two images now: without a tag, airlock asks for one and lists them.
    await assert.rejects(copied.resolveTag(undefined), (e: Error & { hint?: string }) => /multi/.test(e.hint ?? ''));
  });
});
