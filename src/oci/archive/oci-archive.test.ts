import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { list } from 'tar';
import { makeTestImage, makeTestIndex, makeTestReferrer, sha256 } from '../../../test/helpers/oci-images.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { isAirlockError } from '../../errors.ts';
import { openLayoutStore } from '../layout/layout-store.ts';
import type { Descriptor } from '../types.ts';
import { openOciArchive } from './oci-archive.ts';

const root = useTempDir('airlock-oci-archive-');
let temps: string;
let n = 0;
const fresh = (name = 'image.tar'): string => join(root, `${n++}-${name}`);
before(async () => {
  temps = join(root, 'temps');
  await mkdir(temps);
});

async function entries(
  file: string,
): Promise<Array<{ path: string; uid: number | undefined; uname: string | undefined; mtime: number | undefined }>> {
  const out: Array<{ path: string; uid: number | undefined; uname: string | undefined; mtime: number | undefined }> =
    [];
  await list({
    file,
    onReadEntry: (e) => out.push({ path: e.path, uid: e.uid, uname: e.uname, mtime: e.mtime?.getTime() }),
  });
  return out;
}

describe('oci-archive', () => {
  it('write → read gives the same manifests, tags, blobs and referrers', async () => {
    const file = fresh();
    const w = await openOciArchive(file, { mode: 'write', tempDir: temps });
    const img = await makeTestImage(w, { tag: 'v1' });
    const idx = await makeTestIndex(
      w,
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      'multi',
    );
    const referrer = await makeTestReferrer(w, img.manifest);
    await w.close();
    assert.deepEqual(await readdir(temps), [], 'the staging folder is removed');

    const r = await openOciArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual((await r.listTags()).sort(), ['multi', 'v1']);
    assert.equal((await r.resolveTag('v1')).digest, img.manifest.digest);
    assert.equal((await r.resolveTag('multi')).digest, idx.index.digest);
    assert.equal(sha256((await r.getManifest(img.manifest.digest)).bytes), img.manifest.digest);
    for (const b of [img.config, ...img.layers]) {
      const chunks: Buffer[] = [];
      for await (const c of await r.getBlob(b)) chunks.push(c as Buffer);
      assert.equal(sha256(Buffer.concat(chunks)), b.digest);
    }
    assert.deepEqual(
      (await r.listReferrers(img.manifest.digest)).map((d) => d.digest),
      [referrer.digest],
    );
    await assert.rejects(r.putBlob(img.config, Buffer.alloc(0)), (e) => isAirlockError(e, 'E_INTERNAL'));
    await r.close();
    assert.deepEqual(await readdir(temps), [], 'the unpacked folder is removed');
  });

  it('writes a deterministic, portable tar of the layout (no owners, fixed mtime, sorted)', async () => {
    const src = await openLayoutStore(join(root, `${n++}-layout`), { create: true });
    const img = await makeTestImage(src, { tag: 'v1' });
    const copyTo = async (file: string): Promise<void> => {
      const w = await openOciArchive(file, { mode: 'write', tempDir: temps });
      for (const b of [img.config, ...img.layers]) await w.putBlob(b, await src.getBlob(b));
      await w.putManifest(await src.getManifest(img.manifest.digest), 'v1');
      await w.close();
    };
    const [a, b] = [fresh(), fresh()];
    await copyTo(a);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a clock tick must not change the bytes
    await copyTo(b);
    const index = JSON.parse(await readFile(join(src.dir, 'index.json'), 'utf8'));
    assert.equal(index.manifests.length, 1);
    const listed = await entries(a);
    const paths = listed.map((e) => e.path);
    assert.deepEqual(paths, [...paths].sort());
    assert.ok(
      paths.includes('oci-layout') &&
        paths.includes('index.json') &&
        paths.includes(`blobs/sha256/${img.manifest.digest.slice(7)}`),
    );
    assert.ok(listed.every((e) => !e.uname && !e.uid && (e.mtime ?? 0) === 0));
    assert.ok(
      paths.every((p) => !p.split('/').some((s) => s.startsWith('.'))),
      'no temp files',
    );
    assert.ok((await readFile(a)).equals(await readFile(b)));
  });

  it('refuses to overwrite FILE unless asked, checked at open', async () => {
    const file = fresh();
    await writeFile(file, 'precious');
    await assert.rejects(openOciArchive(file, { mode: 'write', tempDir: temps }), (e) =>
      isAirlockError(e, 'E_OUTPUT_EXISTS'),
    );
    const w = await openOciArchive(file, { mode: 'write', tempDir: temps, overwrite: true });
    await makeTestImage(w, { tag: 'v1', layers: 1 });
    await w.close();
    const r = await openOciArchive(file, { mode: 'read', tempDir: temps });
    assert.deepEqual(await r.listTags(), ['v1']);
    await r.close();
  });

  it('discard() drops the staged image without writing FILE', async () => {
    const file = fresh();
    const w = await openOciArchive(file, { mode: 'write', tempDir: temps });
    await makeTestImage(w, { tag: 'v1', layers: 1 });
    await w.discard();
    await w.close(); // a close after discard does nothing
    assert.deepEqual(
      (await readdir(root)).filter((f) => f.endsWith(file.slice(root.length + 1))),
      [],
    );
    assert.deepEqual(await readdir(temps), []);
  });

  it('a tar that is not a layout → E_INPUT_MALFORMED', async () => {
    const file = fresh();
    const w = await openOciArchive(file, { mode: 'write', tempDir: temps });
    await w.close();
    const r = await openOciArchive(file, { mode: 'read', tempDir: temps });
    await assert.rejects(r.resolveTag(undefined), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
    await r.close();
    const { create } = await import('tar');
    const dir = join(root, `${n++}-plain`);
    await mkdir(dir);
    await writeFile(join(dir, 'hello.txt'), 'hi');
    const plain = fresh();
    await create({ file: plain, cwd: dir }, ['hello.txt']);
    await assert.rejects(openOciArchive(plain, { mode: 'read', tempDir: temps }), (e) =>
      isAirlockError(e, 'E_INPUT_MALFORMED'),
    );
    assert.deepEqual(await readdir(temps), []);
  });

  it('tags need their blobs: an incomplete manifest cannot be tagged', async () => {
    const w = await openOciArchive(fresh(), { mode: 'write', tempDir: temps });
    const img = await makeTestImage(w, { layers: 1 });
    const bare = await openOciArchive(fresh(), { mode: 'write', tempDir: temps });
    const stored = await w.getManifest(img.manifest.digest);
    await assert.rejects(bare.putManifest(stored, 'v1'), (e) => isAirlockError(e, 'E_INPUT_MISSING'));
    const layer = img.layers[0] as Descriptor;
    assert.equal(await bare.hasBlob(layer), false);
    await w.discard();
    await bare.discard();
  });
});
