// pack and import against the seed's shell pipeline, same >= 1 GiB image, same run.
//   connected side:  airlock pack  vs  skopeo copy oci: → docker-archive: + sha256sum + gpg --armor --sign
//   air-gapped side: airlock import vs gpg --verify + sha256sum -c + skopeo copy docker-archive: → registry
// airlock does more on both sides (image signature checks, sequence, per-file listing).
//   npm run bench -- transfer [--size-mib 1024] [--rounds 1]
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { digestFile } from '../src/crypto/digest.ts';
import { openLayoutStore } from '../src/oci/layout/layout-store.ts';
import { storedJson } from '../src/oci/manifest.ts';
import { OCI_CONFIG, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { AIRLOCK_BIN } from '../test/helpers/cli.ts';
import { createGpgHome } from '../test/helpers/gpg.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { compare, exec, report } from './harness.ts';

const { values } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '1024' }, rounds: { type: 'string', default: '1' } },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const dir = join(process.cwd(), '.bench-data', 'transfer');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

// The image: 4 gzip layers of incompressible data (stored deflate blocks).
const layout = join(dir, 'build');
const store = await openLayoutStore(layout, { create: true });
const layers = [];
const diffIds: string[] = [];
for (let i = 0; i < 4; i++) {
  const path = join(dir, `layer${i}`);
  // diff_ids are the digests of the uncompressed layers: skopeo checks them when it writes docker-archive.
  const uncompressed = createHash('sha256');
  await pipeline(
    Readable.from(
      (function* () {
        for (let j = 0; j < sizeMiB / 4; j++) {
          const chunk = randomBytes(1 << 20);
          uncompressed.update(chunk);
          yield chunk;
        }
      })(),
    ),
    createGzip({ level: 0 }),
    createWriteStream(path),
  );
  diffIds.push(`sha256:${uncompressed.digest('hex')}`);
  const d = await digestFile(path);
  const desc = { mediaType: OCI_LAYER_TAR_GZIP, digest: `sha256:${d.hex}`, size: d.size };
  await store.putBlob(desc, createReadStream(path));
  await rm(path);
  layers.push(desc);
}
const config = Buffer.from(
  JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} }),
);
const configDesc = {
  mediaType: OCI_CONFIG,
  digest: storedJson(JSON.parse(config.toString())).digest,
  size: config.length,
};
await store.putBlob(configDesc, config);
await store.putManifest(
  storedJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers }),
  'app-1.0',
);
await store.close();
const total = layers.reduce((n, l) => n + l.size, 0);

const node = process.execPath;
const env = { ...process.env, AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') };
const airlock = (args: string[], home = 'home') =>
  exec(node, [AIRLOCK_BIN, ...args, '--quiet'], { env: { ...env, AIRLOCK_HOME: join(dir, home) } });
await airlock(['key', 'generate', '--output-key-prefix', join(dir, 'release')]);
await airlock(['sign', `oci:${layout}:app-1.0`, '--key', join(dir, 'release.key'), '--tlog-upload=false']);
const gpg = await createGpgHome();
const fpr = await gpg.generateKey('Release <r@example.com>', 'ed25519');
await writeFile(join(dir, 'gpg-secret.asc'), await gpg.exportSecret(fpr));
const registry = await startRegistry();
let round = 0;
try {
  const packSamples = await compare(
    [
      {
        name: 'airlock pack (+ image signature checked, SBOM-ready)',
        run: () =>
          airlock([
            'pack',
            `oci:${layout}:app-1.0`,
            '-o',
            join(dir, `p${round++}.tar`),
            '--key',
            join(dir, 'release.key'),
            '--pgp-key',
            join(dir, 'gpg-secret.asc'),
            '--channel',
            `c${round}`,
            '--image-key',
            join(dir, 'release.pub'),
            '--insecure-ignore-tlog',
          ]),
      },
      {
        name: 'shell: skopeo copy + sha256sum + gpg --sign',
        run: async () => {
          const d = join(dir, `shell${round++}`);
          await mkdir(d, { recursive: true });
          await exec('skopeo', [
            'copy',
            '--insecure-policy',
            '--quiet',
            `oci:${layout}:app-1.0`,
            `docker-archive:${join(d, 'app.tar')}:app:1.0`,
          ]);
          await writeFile(
            join(d, 'manifest.sha256'),
            await exec(
              'sha256sum',
              ['app.tar'].map((f) => join(d, f)),
            ),
          );
          await gpg.ok([
            '--yes',
            '--armor',
            '--pinentry-mode',
            'loopback',
            '--passphrase',
            '',
            '--local-user',
            fpr,
            '--output',
            join(d, 'manifest.sha256.asc'),
            '--sign',
            join(d, 'manifest.sha256'),
          ]);
        },
      },
    ],
    rounds,
  );
  report(
    `connected side, ${(total / 2 ** 20).toFixed(0)} MiB image, median of ${rounds}`,
    packSamples,
    (s) => total / s / 2 ** 20,
    'MiB/s',
  );

  await writeFile(join(dir, 'gpg-public.asc'), await gpg.exportPublic(fpr));
  await gpg.ok(['--import', join(dir, 'gpg-public.asc')]);
  let r2 = 0;
  const importSamples = await compare(
    [
      {
        name: 'airlock import (+ signers, sequence, image sig)',
        run: () =>
          airlock(
            [
              'import',
              join(dir, 'p0.tar'),
              '--registry',
              `${registry.host}/a${r2++}`,
              '--keyring',
              join(dir, 'gpg-public.asc'),
              '--channel',
              'c1',
              '--key',
              join(dir, 'release.pub'),
              '--insecure-ignore-tlog',
              '--insecure',
            ],
            `air${r2}`,
          ),
      },
      {
        name: 'shell: gpg --verify + sha256sum -c + skopeo copy',
        run: async () => {
          const d = join(dir, 'shell1');
          await gpg.ok(['--verify', join(d, 'manifest.sha256.asc')]);
          await exec('sha256sum', ['-c', '--quiet', join(d, 'manifest.sha256')]);
          await rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true });
          await exec('skopeo', [
            'copy',
            '--insecure-policy',
            '--quiet',
            '--dest-tls-verify=false',
            `docker-archive:${join(d, 'app.tar')}`,
            `docker://${registry.host}/s${r2++}/app:1.0`,
          ]);
        },
      },
    ],
    rounds,
  );
  report(`air-gapped side, same image, median of ${rounds}`, importSamples, (s) => total / s / 2 ** 20, 'MiB/s');
} finally {
  await registry.stop();
  await gpg.cleanup();
  await rm(dir, { recursive: true, force: true });
}
