import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../../test/helpers/cli.ts';
import { jsonManifest, makeTestIndex, makeTestImage } from '../../../../test/helpers/oci-images.ts';
import { openLayoutStore } from '../../../oci/layout/layout-store.ts';
import { OCI_INDEX, OCI_MANIFEST } from '../../../oci/media-types.ts';

let dir: string;
const src = () => join(dir, 'src');
const env = () => ({ AIRLOCK_HOME: join(dir, 'home') });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-copy-cli-'));
  const store = await openLayoutStore(src(), { create: true });
  await makeTestIndex(
    store,
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ],
    'multi',
  );
  // Two images sharing one foreign (non-distributable) layer, in one index.
  const foreign = {
    mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    digest: `sha256:${'f'.repeat(64)}`,
    size: 1000,
    urls: ['https://example.invalid/layer'],
  };
  const images = [];
  for (const architecture of ['amd64', 'arm64']) {
    const img = await makeTestImage(store, { layers: 1, platform: { os: 'windows', architecture } });
    const stored = jsonManifest(
      { schemaVersion: 2, mediaType: OCI_MANIFEST, config: img.config, layers: [foreign, ...img.layers] },
      OCI_MANIFEST,
    );
    await store.putManifest(stored);
    images.push({
      mediaType: OCI_MANIFEST,
      digest: stored.digest,
      size: stored.bytes.length,
      platform: { os: 'windows', architecture },
    });
  }
  await store.putManifest(
    jsonManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: images }, OCI_INDEX),
    'foreign',
  );
  await store.close();
});
after(() => rm(dir, { recursive: true, force: true }));

describe('airlock copy on a terminal', () => {
  it('shows bytes, blobs and images done of their totals, ending at the totals', async () => {
    const r = await runCli(['copy', `oci:${src()}:multi`, `oci:${join(dir, 'a')}:multi`], { env: env(), tty: true });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr
      .split('\r')
      .map((l) => stripVTControlCharacters(l).trim())
      .filter((l) => l.startsWith('copying:'));
    assert.ok(lines.length > 0, r.stderr);
    assert.match(lines[0] ?? '', /^copying: 0 B of \d+\.\d KiB \(0%\) · 0 of 4 blobs · 0 of 2 images$/);
    assert.match(lines.at(-1) ?? '', /^copying: (\d+\.\d KiB) of \1 \(100%\) · 4 of 4 blobs · 2 of 2 images$/);
  });

  it('--verbose lists each blob with what happened to it', async () => {
    const r = await runCli(['copy', `oci:${src()}:multi`, `oci:${join(dir, 'b')}:multi`, '--verbose'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stderr.match(/^ {2}copied {2}sha256:[0-9a-f]{64} /gm) ?? []).length, 4, r.stderr);
    const again = await runCli(['copy', `oci:${src()}:multi`, `oci:${join(dir, 'b')}:multi`, '--verbose'], {
      env: env(),
    });
    assert.equal((again.stderr.match(/^ {2}present sha256:/gm) ?? []).length, 4, again.stderr);
  });

  it('warns once about foreign layers, however many images share them', async () => {
    const r = await runCli(['copy', `oci:${src()}:foreign`, `oci:${join(dir, 'c')}:foreign`], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stderr.match(/warning:/g) ?? []).length, 1, r.stderr);
    assert.match(r.stderr, /warning: 1 foreign layer\(s\) not copied/);
  });
});
