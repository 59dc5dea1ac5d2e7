// A transfer package cut short — an incomplete copy, a full disk, a courier's USB stick pulled early —
// at any byte offset: `inspect` and `import` refuse it with one code whatever the offset
// (E_PACKAGE_TRUNCATED, exit 3), saying it is truncated, inside the signed headers as much as past
// them. Cut after the end-of-archive marker, nothing is missing: it verifies.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { registryAvailable, startRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-e2e-truncated-');
let pkg: Buffer;
const env = () => ({ AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') });
const cli = (args: string[]) => runCli(args, { env: env() });
const verifyArgs = (channel = 'prod') => [
  '--signer-key',
  join(dir, 'release.pub'),
  '--channel',
  channel,
  '--key',
  join(dir, 'release.pub'),
  '--insecure-ignore-tlog',
  '--json',
];

before(async () => {
  await writeFile(join(dir, 'notes.txt'), 'release notes\n');
  await writeFile(join(dir, 'blob.bin'), randomBytes(3000));
  assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, 'release')])).code, 0);
  const p = await cli([
    'pack',
    join(dir, 'notes.txt'),
    join(dir, 'blob.bin'),
    '-o',
    join(dir, 'p.tar'),
    '--key',
    join(dir, 'release.key'),
    '--channel',
    'prod',
  ]);
  assert.equal(p.code, 0, p.stderr);
  pkg = await readFile(join(dir, 'p.tar'));
});

/** Where the end-of-archive marker (two zero blocks after the last entry) ends: cuts from there on lose nothing. */
function markerEnd(tar: Buffer): number {
  let last = tar.length - 1;
  while (last >= 0 && tar[last] === 0) last--;
  return Math.ceil((last + 1) / 512) * 512 + 1024;
}

describe('a truncated package', () => {
  it('gets E_PACKAGE_TRUNCATED (exit 3) at every offset, headers or payload, block boundary or not', async () => {
    const end = markerEnd(pkg);
    const offsets = new Set<number>([0, 1, 100, 511, end - 1, end - 512, end - 513]);
    for (let b = 512; b < end; b += 512) for (const d of [-1, 0, 1, 257]) offsets.add(b + d);
    const seen = new Map<string, number[]>();
    for (const offset of [...offsets].filter((o) => o >= 0 && o < end).sort((a, b) => a - b)) {
      await writeFile(join(dir, 'cut.tar'), pkg.subarray(0, offset));
      const r = await cli(['inspect', join(dir, 'cut.tar'), ...verifyArgs()]);
      const error = JSON.parse(r.stdout || '{}').error as { code?: string; message?: string } | undefined;
      const key =
        `${r.code} ${error?.code} ` +
        `${/truncated/.test(error?.message ?? '') ? 'says truncated' : `says: ${error?.message}`}`;
      seen.set(key, [...(seen.get(key) ?? []), offset]);
    }
    assert.deepEqual(
      [...seen.keys()],
      ['3 E_PACKAGE_TRUNCATED says truncated'],
      JSON.stringify(Object.fromEntries([...seen].map(([k, v]) => [k, v.slice(0, 12)]))),
    );
  });

  it('verifies when only the zero padding after the end-of-archive marker is cut', async () => {
    // As GNU tar pads an archive to whole 10240-byte records; cut anywhere in that padding.
    const padded = Buffer.concat([pkg, Buffer.alloc(10240 - (pkg.length % 10240))]);
    for (const offset of [markerEnd(pkg), markerEnd(pkg) + 1, padded.length - 1, padded.length]) {
      await writeFile(join(dir, 'cut.tar'), padded.subarray(0, offset));
      const r = await cli(['inspect', join(dir, 'cut.tar'), ...verifyArgs()]);
      assert.equal(r.code, 0, `${offset}: ${r.stderr}`);
    }
  });

  it(
    'import with a registry: the same code at cuts in the headers, in a layer streamed to the ' +
      'registry, before the marker; nothing is tagged',
    async (t) => {
      const missing = registryAvailable();
      if (missing) return t.skip(`docker-registry unavailable: ${missing}`);
      const layout = join(dir, 'src');
      const store = await openLayoutStore(layout, { create: true });
      await makeTestImage(store, { tag: 'app-1.0', layers: 1, layerSize: 200_000 });
      await store.close();
      assert.equal(
        (await cli(['sign', `oci:${layout}:app-1.0`, '--key', join(dir, 'release.key'), '--tlog-upload=false'])).code,
        0,
      );
      const packed = await cli([
        'pack',
        `oci:${layout}:app-1.0`,
        '-o',
        join(dir, 'img.tar'),
        '--key',
        join(dir, 'release.key'),
        '--channel',
        'images',
        '--image-key',
        join(dir, 'release.pub'),
        '--insecure-ignore-tlog',
      ]);
      assert.equal(packed.code, 0, packed.stderr);
      const image = await readFile(join(dir, 'img.tar'));
      const registry = await startRegistry();
      try {
        const end = markerEnd(image);
        for (const offset of [700, Math.floor(image.length / 2), end - 600, end - 1]) {
          await writeFile(join(dir, 'cut.tar'), image.subarray(0, offset));
          const r = await cli([
            'import',
            join(dir, 'cut.tar'),
            '--registry',
            `${registry.host}/mirror`,
            '--insecure',
            ...verifyArgs('images'),
          ]);
          assert.equal(r.code, 3, `${offset}: ${r.stderr}`);
          assert.equal(JSON.parse(r.stdout).error.code, 'E_PACKAGE_TRUNCATED', `${offset}`);
        }
        const tags = await fetch(`${registry.url}/v2/src/tags/list`);
        assert.notEqual(tags.status, 200, 'nothing was pushed under a tag');
      } finally {
        await registry.stop();
      }
    },
  );
});
