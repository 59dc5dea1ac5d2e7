// Reproducible layers and images: a real folder written as a tar+gzip layer, read back with GNU tar
// (the reader a container runtime's unpacker agrees with), and an image put into a real OCI layout.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, link, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { useTempDirs } from '../../../test/helpers/temp-dir.ts';
import { openLayoutStore } from '../layout/layout-store.ts';
import { parseManifestJson } from '../manifest.ts';
import type { ImageManifest } from '../types.ts';
import { putImage } from './image.ts';
import { arrangeEntries, dataEntry, dirEntry, treeEntries, writeLayer } from './layer-tar.ts';

const tempDir = useTempDirs();
const MTIME = new Date('2024-05-06T07:08:09Z');
const LONG = `${'deep-folder-name/'.repeat(8)}file-with-a-long-name.txt`;
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function sampleTree(): Promise<string> {
  const dir = await tempDir('layer-src-');
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin/tool'), '#!/bin/sh\necho hi\n');
  await chmod(join(dir, 'bin/tool'), 0o755);
  await writeFile(join(dir, 'a.txt'), 'alpha\n');
  await link(join(dir, 'a.txt'), join(dir, 'z-hardlink.txt'));
  await symlink('a.txt', join(dir, 'link-to-a'));
  await mkdir(join(dir, 'skip-me'));
  await writeFile(join(dir, 'skip-me/x'), 'x');
  await mkdir(join(dir, LONG.slice(0, LONG.lastIndexOf('/'))), { recursive: true });
  await writeFile(join(dir, LONG), 'long\n');
  return dir;
}

async function build(src: string, out: string) {
  const entries = arrangeEntries([
    ...(await treeEntries(src, 'opt/app', { exclude: (rel) => rel === 'skip-me' })),
    dataEntry('etc/passwd', 'root:x:0:0::/root:/sbin/nologin\n'),
    dirEntry('home/nonroot', 0o700, { uid: 65532, gid: 65532 }),
  ]);
  return writeLayer(entries, out, MTIME);
}

describe('reproducible layers', () => {
  it('writes a folder as a sorted, root-owned tar+gzip layer that GNU tar reads back exactly', async () => {
    const src = await sampleTree();
    const out = await tempDir('layer-out-');
    const layer = await build(src, join(out, 'layer.tgz'));
    const gz = await readFile(layer.file);
    assert.equal(layer.descriptor.digest, sha256(gz));
    assert.equal(layer.descriptor.size, gz.length);
    assert.equal(layer.diffId, sha256(gunzipSync(gz)));

    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', layer.file], { encoding: 'utf8' });
    const lines = listing.trim().split('\n');
    const names = lines.map((l) => l.split(/\s+/)[5]);
    assert.deepEqual(names.slice(0, 11), [
      'etc/',
      'etc/passwd',
      'home/',
      'home/nonroot/',
      'opt/',
      'opt/app/',
      'opt/app/a.txt',
      'opt/app/bin/',
      'opt/app/bin/tool',
      'opt/app/deep-folder-name/',
      'opt/app/deep-folder-name/deep-folder-name/',
    ]);
    assert.ok(names.includes(`opt/app/${LONG}`), 'a path over 100 bytes survives (pax)');
    assert.ok(!names.some((n) => n?.includes('skip-me')), 'excluded folder left out');
    for (const l of lines.filter((l) => !l.includes('home/nonroot/')))
      assert.match(l, / 0\/0 .* 2024-05-06 07:08:09 /, l);
    assert.match(listing, /^drwx------ 65532\/65532 .* home\/nonroot\/$/m);
    assert.match(listing, /^-rwxr-xr-x .* opt\/app\/bin\/tool$/m);
    assert.match(listing, /^lrwxrwxrwx .* opt\/app\/link-to-a -> a\.txt$/m);
    assert.match(listing, /^hrw-r--r-- .* opt\/app\/z-hardlink\.txt link to opt\/app\/a\.txt$/m);

    const x = await tempDir('layer-x-');
    execFileSync('tar', ['-xzf', layer.file, '-C', x]);
    assert.equal(await readFile(join(x, 'opt/app', LONG), 'utf8'), 'long\n');
    assert.equal(await readFile(join(x, 'opt/app/z-hardlink.txt'), 'utf8'), 'alpha\n');
  });

  it('same contents give the same bytes whatever the files’ times; other contents, other bytes', async () => {
    const src = await sampleTree();
    const out = await tempDir('layer-out-');
    const first = await build(src, join(out, 'one.tgz'));
    await utimes(join(src, 'a.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    const second = await build(src, join(out, 'two.tgz'));
    assert.equal(second.descriptor.digest, first.descriptor.digest);
    await writeFile(join(src, 'bin/tool'), '#!/bin/sh\necho bye\n');
    const third = await build(src, join(out, 'three.tgz'));
    assert.notEqual(third.descriptor.digest, first.descriptor.digest);
    assert.notEqual(third.diffId, first.diffId);
  });

  it('refuses a path that climbs out of the image', () => {
    assert.throws(() => dataEntry('../etc/shadow', 'x'), /without '\.\.'/);
  });
});

describe('putImage', () => {
  it('writes config, manifest and tag into an OCI layout that reads back with the settings given', async () => {
    const src = await sampleTree();
    const out = await tempDir('image-out-');
    const layer = await build(src, join(out, 'layer.tgz'));
    const store = await openLayoutStore(join(out, 'layout'), { create: true });
    const settings = {
      user: '65532:65532',
      entrypoint: ['/usr/local/bin/node', '/opt/app/bin/tool'],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
      workingDir: '/opt/app',
      labels: { 'org.opencontainers.image.version': '1.2.3' },
      created: MTIME,
      architecture: 'amd64',
      os: 'linux',
    };
    const desc = await putImage(store, [{ ...layer, createdBy: 'test' }], settings, 'v1');
    assert.deepEqual(await store.resolveTag('v1'), {
      ...desc,
      annotations: { 'org.opencontainers.image.ref.name': 'v1' },
    });
    const manifest = parseManifestJson(await store.getManifest(desc.digest)) as ImageManifest;
    assert.equal(manifest.layers[0]?.digest, layer.descriptor.digest);
    assert.equal(manifest.annotations?.['org.opencontainers.image.created'], '2024-05-06T07:08:09Z');
    const chunks: Buffer[] = [];
    for await (const c of await store.getBlob(manifest.config)) chunks.push(c as Buffer);
    const config = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    assert.equal(config.config.User, '65532:65532');
    assert.deepEqual(config.config.Entrypoint, settings.entrypoint);
    assert.equal(config.config.WorkingDir, '/opt/app');
    assert.deepEqual(config.rootfs.diff_ids, [layer.diffId]);
    assert.equal(config.created, '2024-05-06T07:08:09Z');
    const again = await putImage(store, [{ ...layer, createdBy: 'test' }], settings, 'v2');
    assert.equal(again.digest, desc.digest, 'same layers and settings, same manifest');
  });
});
