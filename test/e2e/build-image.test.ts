// scripts/build-image for real: airlock's own image built with mmdebstrap into an OCI layout, read back
// by airlock (config: user, entrypoint), then run: its layers unpacked into a root filesystem and its
// entrypoint started there as user 65532 with chroot, in a mount namespace that shows it the layout
// it came from, so the packaged node, sources and node_modules inspect their own image.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { parseManifestJson } from '../../src/oci/manifest.ts';
import type { ImageManifest } from '../../src/oci/types.ts';
import { runCli } from '../helpers/cli.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const missing = !has('mmdebstrap')
  ? 'mmdebstrap not installed: apt-get install mmdebstrap (scripts/setup does, as root)'
  : process.getuid?.() !== 0
    ? 'not root: mmdebstrap --mode=root and chroot need it'
    : undefined;

async function blobText(dir: string, desc: { digest: string; mediaType: string; size: number }): Promise<string> {
  const store = await openLayoutStore(dir);
  const chunks: Buffer[] = [];
  for await (const c of await store.getBlob(desc)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('scripts/build-image', () => {
  const tmp = useTempDir('airlock-build-image-');
  const out = join(tmp, 'layout');

  it('builds airlock’s image into an OCI layout airlock reads, with the runtime settings it needs', async (t) => {
    if (missing) return t.skip(missing);
    const started = Date.now();
    const r = spawnSync(join(ROOT, 'scripts/build-image'), ['--out', out, '--tag', 'test', '--source', 'test://src'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    t.diagnostic(`build took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const digest = r.stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);

    const inspect = await runCli(['image', 'inspect', `oci:${out}:test`, '--json']);
    assert.equal(inspect.code, 0, inspect.stderr);
    const doc = JSON.parse(inspect.stdout);
    assert.equal(doc.digest, digest);
    assert.equal(doc.layers.length, 4);
    t.diagnostic(`image: ${(doc.size / 1e6).toFixed(1)} MB of layers`);

    const store = await openLayoutStore(out);
    const manifest = parseManifestJson(await store.getManifest(digest)) as ImageManifest;
    const config = JSON.parse(await blobText(out, manifest.config));
    assert.equal(config.config.User, '65532:65532');
    assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/node', '/opt/airlock/bin/airlock.js']);
    assert.ok(config.config.Env.some((e: string) => e.startsWith('PATH=')));
    assert.equal(config.config.WorkingDir, '/home/nonroot');
    const labels = config.config.Labels;
    assert.equal(labels['org.opencontainers.image.source'], 'test://src');
    assert.equal(
      labels['org.opencontainers.image.revision'],
      execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(),
    );
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(labels['org.opencontainers.image.version'], pkg.version);
    assert.equal(config.rootfs.diff_ids.length, 4);
  });

  it('runs: the entrypoint, as 65532 in the unpacked layers, prints its version, inspects its image', async (t) => {
    if (missing) return t.skip(missing);
    if (!has('unshare') || !has('chroot')) return t.skip('unshare or chroot not installed (util-linux, coreutils)');
    const store = await openLayoutStore(out);
    const manifest = parseManifestJson(
      await store.getManifest((await store.resolveTag('test')).digest),
    ) as ImageManifest;
    const rootfs = join(tmp, 'rootfs');
    await mkdir(rootfs);
    for (const layer of manifest.layers) {
      execFileSync('tar', ['-xzf', join(out, 'blobs/sha256', layer.digest.slice('sha256:'.length)), '-C', rootfs]);
    }
    const config = JSON.parse(await blobText(out, manifest.config));
    const entry: string[] = config.config.Entrypoint;
    const inImage = (...args: string[]) =>
      spawnSync(
        'unshare',
        [
          '--mount',
          '--pid',
          '--fork',
          'sh',
          '-c',
          'mkdir -p "$1/layout" && mount --bind "$2" "$1/layout" && shift 2 && exec env -i "$@"',
          'sh',
          rootfs,
          out,
          ...config.config.Env,
          'chroot',
          `--userspec=${config.config.User}`,
          rootfs,
          ...entry,
          ...args,
        ],
        { encoding: 'utf8' },
      );
    const version = inImage('--version');
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^airlock \d+\.\d+\.\d+/);
    const self = inImage('image', 'inspect', 'oci:/layout:test', '--json');
    assert.equal(self.status, 0, self.stderr);
    assert.equal(JSON.parse(self.stdout).digest, (await store.resolveTag('test')).digest);
    // The native checker is in the image when scripts/setup built it here; then it must load there.
    if (existsSync(join(ROOT, 'native/ecdsa-prehash/build/Release/ecdsa_prehash.node'))) {
      const doctor = inImage('doctor');
      assert.match(`${doctor.stdout}${doctor.stderr}`, /ok\s+native ECDSA checker/);
    }
  });
});
