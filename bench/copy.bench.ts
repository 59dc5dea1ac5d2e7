// `airlock copy` against `skopeo copy` for the same >= 512 MiB image, same run, same registry
// (Debian's docker-registry on loopback), both as CLI processes, interleaved rounds, fresh repository
// names each round so neither side finds blobs already there.
//   layout → registry, and registry → layout.   npm run bench -- copy [--size-mib 512] [--rounds 3]
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { digestFile } from '../src/crypto/digest.ts';
import { openLayoutStore } from '../src/oci/layout/layout-store.ts';
import { storedJson } from '../src/oci/manifest.ts';
import { OCI_CONFIG, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { AIRLOCK_BIN } from '../test/helpers/cli.ts';
import { compare, exec, report } from './harness.ts';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '512' },
    rounds: { type: 'string', default: '3' },
    layers: { type: 'string', default: '4' },
  },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Number(values.rounds);
const layerCount = Number(values.layers);
const dir = join(process.cwd(), '.bench-data', 'copy');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

/** A gzip layer of incompressible data (stored deflate blocks: real gzip, cheap to make). */
async function makeLayer(path: string, mib: number): Promise<void> {
  async function* chunks() {
    for (let i = 0; i < mib; i++) yield randomBytes(1024 * 1024);
  }
  await pipeline(Readable.from(chunks()), createGzip({ level: 0 }), createWriteStream(path));
}

const layoutDir = join(dir, 'layout');
const store = await openLayoutStore(layoutDir, { create: true });
const layers: Array<{ mediaType: string; digest: string; size: number }> = [];
for (let i = 0; i < layerCount; i++) {
  const path = join(dir, `layer${i}.gz`);
  await makeLayer(path, Math.ceil(sizeMiB / layerCount));
  const d = await digestFile(path);
  const desc = { mediaType: OCI_LAYER_TAR_GZIP, digest: `sha256:${d.hex}`, size: d.size };
  const { createReadStream } = await import('node:fs');
  await store.putBlob(desc, createReadStream(path));
  await rm(path);
  layers.push(desc);
}
const config = Buffer.from(
  JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  }),
);
const configDesc = {
  mediaType: OCI_CONFIG,
  digest: storedJson(JSON.parse(config.toString())).digest,
  size: config.length,
};
await store.putBlob(configDesc, config);
await store.putManifest(storedJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers }), 'v1');
await store.close();
const totalBytes = layers.reduce((n, l) => n + l.size, 0);

/**
 * The HTTP reader under a registry → layout copy, alone: every layer of the image GET from the registry
 * and hashed, in this process, by airlock's raw-socket reader (bulkGet), undici's request, and
 * node:http. airlock keeps its hand-written reader only while this same-run figure says it is worth it.
 */
async function readerBench(repository: string): Promise<void> {
  const { createHash } = await import('node:crypto');
  const { get } = await import('node:http');
  const { Agent, request } = await import('undici');
  const { bulkGet } = await import('../src/net/http/bulk-get.ts');
  const blobURL = (d: string) =>
    new URL(`http://${repository.split('/')[0]}/v2/${repository.split('/').slice(1).join('/')}/blobs/${d}`);
  const hash = async (body: AsyncIterable<Buffer>) => {
    const h = createHash('sha256');
    for await (const c of body) h.update(c);
    return h.digest('hex');
  };
  const agent = new Agent();
  const all = (read: (url: URL) => Promise<unknown>) => async () => {
    for (const l of layers) await read(blobURL(l.digest));
  };
  const cpu: Record<string, number[]> = {};
  const timed = (name: string, fn: () => Promise<void>) => async () => {
    const before = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(before);
    (cpu[name] ??= []).push((used.user + used.system) / 1e6);
  };
  const rows = [
    {
      name: 'bulkGet (raw socket)',
      run: timed(
        'bulkGet (raw socket)',
        all(async (url) => hash((await bulkGet(url, {}, { timeoutMs: 60_000 }))?.body as AsyncIterable<Buffer>)),
      ),
    },
    {
      name: 'undici request',
      run: timed(
        'undici request',
        all(async (url) => hash((await request(url, { dispatcher: agent })).body as AsyncIterable<Buffer>)),
      ),
    },
    {
      name: 'node:http',
      run: timed(
        'node:http',
        all(
          (url) =>
            new Promise((resolve, reject) => get(url, (res) => hash(res).then(resolve, reject)).on('error', reject)),
        ),
      ),
    },
  ];
  try {
    const samples = await compare(rows, rounds);
    report(
      `HTTP reader alone: every layer GET and hashed in-process, median of ${rounds}`,
      samples,
      (s) => totalBytes / s / 2 ** 20,
      'MiB/s',
    );
    for (const [name, values] of Object.entries(cpu)) {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(
        `  ${name.padEnd(34)} client CPU ` +
          `${((sorted[Math.floor(sorted.length / 2)] ?? 0) / (totalBytes / 2 ** 30)).toFixed(2)} ` +
          `s/GiB (hashing included)`,
      );
    }
  } finally {
    await agent.close();
  }
}

const registry = await startRegistry();
// skopeo remembers which blobs a registry already has (its blob-info cache: under $HOME, or
// /var/lib/containers/cache for root) and skips them; clearing it before each run makes it move the
// bytes, as airlock does (its own cache would otherwise turn the second round into a no-op).
let homes = 0;
const skopeoEnv = () => ({ ...process.env, HOME: join(dir, `home${homes++}`) });
const skopeoFresh = async (args: string[]) => {
  await rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true });
  return exec('skopeo', args, { env: skopeoEnv() });
};
let round = 0;
const node = process.execPath;
const next = () => `${registry.host}/bench/r${round++}`;
try {
  const pushed: string[] = [];
  const up = await compare(
    [
      {
        name: 'airlock copy layout → registry',
        run: () =>
          exec(node, [
            AIRLOCK_BIN,
            'copy',
            `oci:${layoutDir}:v1`,
            `${pushed[pushed.push(next()) - 1]}:v1`,
            '--insecure',
            '--quiet',
          ]),
      },
      {
        name: 'skopeo copy layout → registry',
        run: () =>
          skopeoFresh([
            'copy',
            '--insecure-policy',
            '--quiet',
            '--dest-tls-verify=false',
            `oci:${layoutDir}:v1`,
            `docker://${next()}:v1`,
          ]),
      },
    ],
    rounds,
  );
  report(
    `copy of a ${(totalBytes / 2 ** 20).toFixed(0)} MiB image (${layerCount} gzip layers), ` +
      `layout → registry, median of ${rounds}`,
    up,
    (s) => totalBytes / s / 2 ** 20,
    'MiB/s',
  );
  const source = `${pushed[0]}:v1`;
  // Each copy's output is deleted once it is timed. Kept, every round writes into memory the VM has
  // not touched yet, and on this firecracker machine that costs both tools about 3 s of system time
  // per 512 MiB (measured with /usr/bin/time: 0.6–1.0 s sys when deleted, 2.7–3.4 s when kept), which
  // measures the hypervisor rather than either copy.
  const out = join(dir, 'out');
  const removeOut = () => rm(out, { recursive: true, force: true });
  const down = await compare(
    [
      {
        name: 'airlock copy registry → layout',
        run: () => exec(node, [AIRLOCK_BIN, 'copy', source, `oci:${out}:v1`, '--insecure', '--quiet']),
        cleanup: removeOut,
      },
      {
        name: 'skopeo copy registry → layout',
        run: () =>
          skopeoFresh([
            'copy',
            '--insecure-policy',
            '--quiet',
            '--src-tls-verify=false',
            `docker://${source}`,
            `oci:${out}:v1`,
          ]),
        cleanup: removeOut,
      },
    ],
    rounds,
  );
  report(
    `copy of the same image, registry → layout, median of ${rounds}`,
    down,
    (s) => totalBytes / s / 2 ** 20,
    'MiB/s',
  );
  await readerBench(pushed[0] ?? '');
} finally {
  await registry.stop();
  await rm(dir, { recursive: true, force: true });
}
