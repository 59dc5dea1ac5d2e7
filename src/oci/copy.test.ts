import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeTestIndex, makeTestReferrer } from '../../test/helpers/oci-images.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { type CopyProgress, copyImage } from './copy.ts';
import { openLayoutStore } from './layout/layout-store.ts';
import type { Descriptor } from './types.ts';

const dir = useTempDir('airlock-copy-');
let index: Descriptor;
/** Every blob the index and its referrer hold, by digest: what a full copy moves. */
const blobs = new Map<string, number>();

before(async () => {
  const store = await openLayoutStore(join(dir, 'src'), { create: true });
  const made = await makeTestIndex(
    store,
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ],
    'multi',
  );
  index = made.index;
  for (const img of made.images) for (const b of [img.config, ...img.layers]) blobs.set(b.digest, b.size);
  const referrer = await makeTestReferrer(store, made.images[0]!.manifest);
  const manifest = JSON.parse((await store.getManifest(referrer.digest)).bytes.toString()) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  for (const b of [manifest.config, ...manifest.layers]) blobs.set(b.digest, b.size);
  await store.close();
});

describe('copyImage progress', () => {
  it('knows the totals before the first blob moves, and ends with done equal to total', async () => {
    const src = await openLayoutStore(join(dir, 'src'), {});
    const dst = await openLayoutStore(join(dir, 'dst-1'), { create: true });
    const seen: CopyProgress[] = [];
    const outcomes: string[] = [];
    const result = await copyImage(src, index, dst, {
      tag: 'multi',
      onProgress: (p) => seen.push(p),
      onBlob: (d, how) => outcomes.push(`${d.digest} ${how}`),
    });
    const bytesTotal = [...blobs.values()].reduce((a, b) => a + b, 0);
    const totals = { blobsTotal: blobs.size, bytesTotal, imagesTotal: 2 };
    const first = seen[0]!;
    assert.deepEqual(
      { blobsTotal: first.blobsTotal, bytesTotal: first.bytesTotal, imagesTotal: first.imagesTotal },
      totals,
    );
    assert.deepEqual(seen.at(-1), { ...totals, blobsDone: blobs.size, bytesDone: bytesTotal, imagesDone: 2 });
    for (const p of seen)
      assert.deepEqual(
        { blobsTotal: p.blobsTotal, bytesTotal: p.bytesTotal, imagesTotal: p.imagesTotal },
        totals,
        'totals never move',
      );
    assert.ok(
      seen.every((p, i) => i === 0 || p.bytesDone >= seen[i - 1]!.bytesDone),
      'bytes only go up',
    );
    assert.deepEqual(outcomes.sort(), [...blobs.keys()].map((d) => `${d} copied`).sort());
    assert.equal(result.bytesTotal, bytesTotal);
    assert.equal(result.images, 2);
    await dst.close();
    await src.close();
  });

  it('counts blobs already at the destination as done, without copying them', async () => {
    const src = await openLayoutStore(join(dir, 'src'), {});
    const dst = await openLayoutStore(join(dir, 'dst-2'), { create: true });
    await copyImage(src, index, dst, {});
    const seen: CopyProgress[] = [];
    const again = await copyImage(src, index, dst, { onProgress: (p) => seen.push(p) });
    assert.equal(again.blobsSkipped, blobs.size);
    assert.equal(again.bytesCopied, 0);
    assert.equal(seen.at(-1)?.bytesDone, seen.at(-1)?.bytesTotal);
    await dst.close();
    await src.close();
  });

  it("with a platform, the totals are that image's alone", async () => {
    const src = await openLayoutStore(join(dir, 'src'), {});
    const dst = await openLayoutStore(join(dir, 'dst-3'), { create: true });
    const seen: CopyProgress[] = [];
    const result = await copyImage(src, index, dst, {
      platform: { os: 'linux', architecture: 'arm64' },
      onProgress: (p) => seen.push(p),
    });
    assert.equal(seen[0]?.imagesTotal, 1);
    assert.equal(seen[0]?.blobsTotal, 2);
    assert.equal(result.images, 1);
    await dst.close();
    await src.close();
  });
});
