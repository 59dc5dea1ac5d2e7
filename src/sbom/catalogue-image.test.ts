import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AirlockError } from '../errors.ts';
import { openLayoutStore } from '../oci/layout/layout-store.ts';
import { DOCKER_LAYER_TAR_GZIP, OCI_INDEX, OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP } from '../oci/media-types.ts';
import { jsonManifest } from '../../test/helpers/oci-images.ts';
import { OCI_LAYER_TAR_ZSTD, putLayeredImage, tarOf, type TarItem } from '../../test/helpers/sbom-layers.ts';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import type { Descriptor } from '../oci/types.ts';
import { catalogueImage, type LayerProgress } from './catalogue-image.ts';
import type { CandidateFile, FileCataloguer } from './cataloguers/cataloguer.ts';
import type { FoundPackage } from './package.ts';

/** Every file under /t is a "package" named by its path whose version is its content. */
function recorder(offered: string[] = []): FileCataloguer {
  return {
    name: 'recorder',
    wants: (f: CandidateFile) => f.path.startsWith('/t/'),
    async read(f: CandidateFile, content: Readable) {
      offered.push(f.path);
      let text = '';
      for await (const c of content) text += String(c);
      const pkg: FoundPackage = { type: 'npm', name: f.path, version: text, licenses: [], foundIn: f.path };
      return { packages: [pkg] };
    },
  };
}

const tempDir = useTempDirs();

async function catalogue(layers: ReadonlyArray<readonly TarItem[]>, mediaType = OCI_LAYER_TAR_GZIP) {
  const store = await openLayoutStore(await tempDir('airlock-squash-'), { create: true });
  const { manifest } = await putLayeredImage(store, layers, mediaType);
  const offered: string[] = [];
  const result = await catalogueImage(store, manifest, [recorder(offered)]);
  const files = Object.fromEntries(result.found.map((p) => [p.name, p.version]));
  return { result, files, offered };
}

describe('catalogueImage: the squashed view', () => {
  it('a higher layer’s file replaces the same path below; the lower bytes are never offered', async () => {
    const { files, offered } = await catalogue([
      [
        { file: 't/a', data: 'low' },
        { file: 't/b', data: 'only-low' },
      ],
      [{ file: './t/a', data: 'high' }],
    ]);
    assert.deepEqual(files, { '/t/a': 'high', '/t/b': 'only-low' });
    assert.deepEqual(offered.sort(), ['/t/a', '/t/b']);
  });

  it('a whiteout hides the file, or the whole directory, it names in lower layers only', async () => {
    const { files } = await catalogue([
      [
        { file: 't/gone', data: '1' },
        { file: 't/dir/x', data: '2' },
        { file: 't/dir2/y', data: '3' },
      ],
      [{ file: 't/.wh.gone' }, { file: 't/.wh.dir' }, { file: 't/dir2/.wh.z' }, { file: 't/kept', data: '4' }],
      // A whiteout applies to lower layers, not to the file beside it in its own layer.
      [{ file: 't/.wh.kept' }, { file: 't/gone', data: 'back' }],
    ]);
    assert.deepEqual(files, { '/t/dir2/y': '3', '/t/gone': 'back' });
  });

  it('an opaque directory hides what lower layers hold in it, not what its own layer holds', async () => {
    const { files } = await catalogue([
      [
        { file: 't/o/old', data: '1' },
        { file: 't/o/sub/deep', data: '2' },
        { file: 't/other', data: '3' },
      ],
      [{ dir: 't/o/' }, { file: 't/o/.wh..wh..opq' }, { file: 't/o/new', data: '4' }],
    ]);
    assert.deepEqual(files, { '/t/o/new': '4', '/t/other': '3' });
  });

  it('a directory replaced by a file or a symlink above hides everything below it', async () => {
    const { files } = await catalogue([
      [
        { file: 't/d1/f', data: '1' },
        { file: 't/d2/sub/f', data: '2' },
        { file: 't/d3/f', data: '3' },
      ],
      [
        { file: 't/d1', data: 'now a file' },
        { symlink: 't/d2', to: '/elsewhere' },
      ],
      // A directory again on top does not bring the lower contents back: the file cut them off.
      [{ dir: 't/d1' }],
    ]);
    assert.deepEqual(files, { '/t/d3/f': '3' });
  });

  it('a hard link to an offered file is reported under its own name too', async () => {
    const { result } = await catalogue([
      [
        { file: 't/bin/tool', data: 'v1', mode: 0o755 },
        { link: 't/bin/alias', to: 't/bin/tool' },
      ],
    ]);
    assert.deepEqual(
      result.found.map((p) => [p.foundIn, p.version]),
      [
        ['/t/bin/alias', 'v1'],
        ['/t/bin/tool', 'v1'],
      ],
    );
  });

  it('a hard link whose target is hidden is a note, not a package', async () => {
    const { result } = await catalogue([
      [
        { file: 'x/target', data: 'v' },
        { link: 't/alias', to: 'x/target' },
      ],
      [{ file: 'x/.wh.target' }],
    ]);
    assert.deepEqual(result.found, []);
    assert.ok(
      result.notes.some((n) => n.includes('hard link /t/alias')),
      result.notes.join('\n'),
    );
  });

  it('a hard link whose target was not read is unread (not evaluated), not only a note', async () => {
    const { result } = await catalogue([
      [
        { file: 'x/target', data: 'v' },
        { link: 't/alias', to: 'x/target' },
      ],
    ]);
    assert.ok(
      result.unread.some((n) => n.includes('hard link /t/alias')),
      result.unread.join('\n'),
    );
  });

  it('a cataloguer that fails or reports a file unread makes it unread', async () => {
    const store = await openLayoutStore(await tempDir('airlock-squash-'), { create: true });
    const { manifest } = await putLayeredImage(store, [
      [
        { file: 't/a', data: 'x' },
        { file: 't/b', data: 'y' },
      ],
    ]);
    const failing: FileCataloguer = {
      name: 'picky',
      wants: (f) => f.path.startsWith('/t/'),
      async read(f, content) {
        content.resume();
        if (f.path === '/t/a') throw new Error('boom');
        return { packages: [], notes: ['/t/b too big'], unread: ['/t/b too big'] };
      },
    };
    const result = await catalogueImage(store, manifest, [failing]);
    assert.deepEqual(result.unread.length, 2, result.unread.join('\n'));
    assert.ok(result.unread.some((n) => n.includes('/t/a')));
  });

  it('a symbolic link where a package database is read is unread; not its ancestors, nor links into one', async () => {
    const unread = async (items: TarItem[]) => (await catalogue([items])).result.unread;
    assert.equal((await unread([{ symlink: 'var/lib/dpkg', to: '/opt/dpkg' }])).length, 1);
    assert.equal((await unread([{ symlink: 'var/lib/dpkg/status', to: '/opt/status' }])).length, 1);
    assert.equal((await unread([{ symlink: 'app/node_modules', to: '/opt/mods' }])).length, 1);
    assert.equal((await unread([{ symlink: 'app/node_modules/x', to: '/opt/x' }])).length, 1);
    assert.equal((await unread([{ symlink: 'usr/lib/python3/dist-packages', to: '/opt/p' }])).length, 1);
    assert.equal((await unread([{ symlink: 'var/lib/rpm', to: '/opt/rpm' }])).length, 1);
    assert.equal((await unread([{ symlink: 'etc/os-release', to: '/opt/os-release' }])).length, 1);
    assert.deepEqual(
      await unread([
        { symlink: 'lib', to: 'usr/lib' },
        { symlink: 'var', to: '/opt/var' },
      ]),
      [],
    );
    assert.deepEqual(await unread([{ symlink: 'app/node_modules/.bin/x', to: '../x/cli.js' }]), []);
    assert.deepEqual(await unread([{ symlink: 'var/lib/rpm', to: '../../usr/lib/sysimage/rpm' }]), []);
    assert.deepEqual(
      await unread([
        { file: 'usr/lib/os-release', data: 'ID=debian\n' },
        { symlink: 'etc/os-release', to: '../usr/lib/os-release' },
      ]),
      [],
    );
  });

  it('notes a path given twice in one layer (both copies are offered: the stream cannot know)', async () => {
    const { result, offered } = await catalogue([
      [
        { file: 't/a', data: '1' },
        { file: 't/a', data: '2' },
      ],
    ]);
    assert.deepEqual(offered, ['/t/a', '/t/a']);
    assert.ok(result.notes.some((n) => n.includes('more than once')));
  });

  it('reads uncompressed, zstd and Docker gzip layers alike', async () => {
    for (const type of [OCI_LAYER_TAR, OCI_LAYER_TAR_ZSTD, DOCKER_LAYER_TAR_GZIP]) {
      const { files } = await catalogue([[{ file: 't/a', data: 'x' }], [{ file: 't/b', data: 'y' }]], type);
      assert.deepEqual(files, { '/t/a': 'x', '/t/b': 'y' }, type);
    }
  });

  it('reads the distro from /etc/os-release, or /usr/lib/os-release when /etc has only a symlink', async () => {
    const osRelease = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n';
    const { result } = await catalogue([
      [
        { file: 'usr/lib/os-release', data: osRelease },
        { symlink: 'etc/os-release', to: '../usr/lib/os-release' },
      ],
    ]);
    assert.equal(result.distro?.id, 'debian');
    assert.equal(result.distro?.versionId, '12');
    const none = await catalogue([[{ file: 't/a' }]]);
    assert.equal(none.result.distro, undefined);
    assert.ok(none.result.notes.some((n) => n.includes('os-release')));
  });

  it('reports progress with totals, the top layer first', async () => {
    const store = await openLayoutStore(await tempDir('airlock-squash-'), { create: true });
    const { manifest, layers } = await putLayeredImage(store, [[{ file: 't/a', data: 'x'.repeat(5000) }], []]);
    const seen: LayerProgress[] = [];
    const blobsRead: string[] = [];
    const counting = Object.assign(Object.create(store) as typeof store, {
      getManifest: (digest: string) => store.getManifest(digest),
      getBlob: (d: Descriptor) => (blobsRead.push(d.digest), store.getBlob(d)),
    });
    const result = await catalogueImage(counting, manifest, [recorder()], { onProgress: (p) => seen.push(p) });
    assert.deepEqual(
      blobsRead,
      [...layers].reverse().map((l) => l.digest),
      'each layer once, the top one first',
    );
    const total = layers.reduce((n, l) => n + l.size, 0);
    assert.ok(seen.every((p) => p.layers === 2 && p.totalBytes === total));
    assert.equal(seen.at(-1)?.bytes, total);
    assert.equal(seen[0]?.layer, 1);
    assert.equal(seen.at(-1)?.layer, 2);
    assert.equal(result.stats.bytesRead, total);
  });

  it('refuses a corrupt layer and a layer that climbs out with `..`, naming the layer', async () => {
    const store = await openLayoutStore(await tempDir('airlock-squash-'), { create: true });
    const good = gzipSync(tarOf([{ file: 't/a', data: 'x' }]));
    const corrupt = Buffer.from(good);
    corrupt.fill(0x55, 20, 60);
    const notTar = gzipSync(Buffer.alloc(2048, 0x41));
    const cases: Array<[Buffer, string]> = [
      [corrupt, OCI_LAYER_TAR_GZIP],
      [notTar, OCI_LAYER_TAR_GZIP],
      [gzipSync(tarOf([{ file: '../../etc/passwd', data: 'x' }])), OCI_LAYER_TAR_GZIP],
      [good, 'application/octet-stream'],
    ];
    for (const [raw, mediaType] of cases) {
      const { manifest, layers } = await putLayeredImage(store, [{ raw, mediaType }]);
      await assert.rejects(catalogueImage(store, manifest, [recorder()]), (err: unknown) => {
        assert.ok(err instanceof AirlockError);
        assert.equal(err.code, 'E_INPUT_MALFORMED');
        assert.ok(err.message.includes(layers[0]?.digest ?? '?'), err.message);
        return true;
      });
    }
  });

  it('resolves an index to its linux/amd64 image and says which it chose', async () => {
    const store = await openLayoutStore(await tempDir('airlock-squash-'), { create: true });
    const arm = await putLayeredImage(store, [[{ file: 't/arch', data: 'arm64' }]]);
    const amd = await putLayeredImage(store, [[{ file: 't/arch', data: 'amd64' }]]);
    const index = jsonManifest(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64' } },
          { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      },
      OCI_INDEX,
    );
    await store.putManifest(index);
    const desc = { mediaType: OCI_INDEX, digest: index.digest, size: index.bytes.length };
    const result = await catalogueImage(store, desc, [recorder()]);
    assert.equal(result.found[0]?.version, 'amd64');
    assert.equal(result.manifest.digest, amd.manifest.digest);
    assert.ok(result.notes.some((n) => n.includes('linux/amd64')));
  });

  it('gives a file to every cataloguer that wants it at the pace of the slowest, and drains the rest', async () => {
    const store = await openLayoutStore(await tempDir('airlock-squash-'), { create: true });
    const big = 'y'.repeat(300_000);
    const { manifest } = await putLayeredImage(store, [
      [
        { file: 't/big', data: big },
        { file: 'u/skip', data: big },
        { file: 't/after', data: 'z' },
      ],
    ]);
    const quitter: FileCataloguer = {
      name: 'quitter',
      wants: (f) => f.path === '/t/big',
      async read(_f, content) {
        content.destroy();
        return { packages: [] };
      },
    };
    const slow: FileCataloguer = {
      name: 'slow',
      wants: (f) => f.path === '/t/big',
      async read(f, content) {
        let size = 0;
        for await (const chunk of content) {
          size += (chunk as Buffer).length;
          await new Promise((resolve) => setImmediate(resolve));
        }
        return { packages: [{ type: 'npm', name: 'slow', version: String(size), licenses: [], foundIn: f.path }] };
      },
    };
    const result = await catalogueImage(store, manifest, [quitter, slow, recorder()]);
    assert.deepEqual(
      result.found.map((p) => [p.name, p.version.length]),
      [
        ['/t/after', 1],
        ['/t/big', big.length],
        ['slow', 6],
      ],
    );
    assert.equal(result.found.find((p) => p.name === 'slow')?.version, String(big.length));
  });
});
