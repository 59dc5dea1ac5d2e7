// Two figures for issue 25, each next to a floor measured in the same run:
//   1. `airlock sbom` of a >= 500 MiB multi-layer image made of real files (this machine's /usr: ELF and Go
//      binaries, Python packages, jars, node_modules, the dpkg database) against `tar -tzf` over the same
//      layers — the floor: reading and decompressing every byte once. Target <= 1.5x the floor.
//   2. `airlock scan` of a 5,000-package SBOM against a >= 100,000-record database: time and peak memory,
//      next to reading the same SBOM alone (`airlock sbom`-free: `scan` with an empty database).
// Both sides run as CLI processes, interleaved rounds.
//   npm run bench -- sbom [--size-mib 500] [--rounds 3] [--packages 5000] [--records 100000] [--only image|scan]
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { digestFile } from '../src/crypto/digest.ts';
import { openLayoutStore } from '../src/oci/layout/layout-store.ts';
import { storedJson } from '../src/oci/manifest.ts';
import { OCI_CONFIG, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from '../src/oci/media-types.ts';
import { AIRLOCK_BIN } from '../test/helpers/cli.ts';
import { compare, exec, median, report } from './harness.ts';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    packages: { type: 'string', default: '5000' },
    records: { type: 'string', default: '100000' },
    only: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const root = join(process.cwd(), '.bench-data', 'sbom');
await mkdir(root, { recursive: true });
const env = { ...process.env, AIRLOCK_HOME: join(root, 'home'), AIRLOCK_PASSWORD: '' };

/** Prints the process's peak resident set at exit, so a CLI child's memory can be reported. */
const PEAK_RSS_HOOK =
  'data:text/javascript,process.on("exit",()=>process.stderr.write(' +
  '"airlock-bench-maxrss-kib="+process.resourceUsage().maxRSS+"\\n"))';

async function airlock(args: readonly string[]): Promise<{ stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PEAK_RSS_HOOK, AIRLOCK_BIN, ...args], { env, stdio: 'pipe' });
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      // scan exits 1 when the gate fails; the bench asks for no gate, so anything but 0 is a failure.
      code === 0 ? resolve({ stderr }) : reject(new Error(`airlock ${args.join(' ')} exited ${code}: ${stderr}`)),
    );
  });
}

function peakMiB(stderr: string): number {
  const m = /airlock-bench-maxrss-kib=(\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---------------------------------------------------------------------------------------------------
// 1. The image: layers of real files from this machine, until the compressed layers reach the size asked.

/** Folders with what the cataloguers read (and much they do not), in layer order. */
const LAYER_SOURCES = [
  'var/lib/dpkg',
  'etc',
  'usr/bin',
  'usr/lib/python3',
  'usr/lib/go-1.19',
  'usr/lib/jvm',
  'usr/share/java',
  'usr/lib/x86_64-linux-gnu',
  'usr/share',
  'usr/lib/node_modules',
  'usr/libexec',
  'usr/lib/gcc',
];

async function buildImage(sizeMiB: number): Promise<{ reference: string; layers: string[]; bytes: number }> {
  const dir = join(root, `image-${sizeMiB}`);
  const layerDir = join(dir, 'layers');
  const reference = `oci:${join(dir, 'layout')}:bench`;
  if (existsSync(join(dir, 'done'))) {
    const layers = (await readdir(layerDir)).sort().map((f) => join(layerDir, f));
    const bytes = (await Promise.all(layers.map((l) => stat(l)))).reduce((n, s) => n + s.size, 0);
    return { reference, layers, bytes };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(layerDir, { recursive: true });
  const layers: string[] = [];
  let bytes = 0;
  for (const [i, source] of LAYER_SOURCES.entries()) {
    if (bytes >= sizeMiB * 1024 * 1024) break;
    if (!existsSync(join('/', source))) continue;
    const path = join(layerDir, `${String(i).padStart(2, '0')}.tar.gz`);
    process.stderr.write(`bench: layer ${i + 1}: /${source}\n`);
    // Unreadable or vanishing files are not the point here: tar's exit 1 ("some files differ") is fine.
    await exec('bash', ['-c', `tar -C / -czf "$1" "$2" 2>/dev/null || [ $? -eq 1 ]`, '_', path, source]);
    bytes += (await stat(path)).size;
    layers.push(path);
  }
  if (bytes < sizeMiB * 1024 * 1024) throw new Error(`only ${bytes >> 20} MiB of layers could be made from /usr`);
  const store = await openLayoutStore(join(dir, 'layout'), { create: true });
  const descs = [];
  for (const path of layers) {
    const d = await digestFile(path);
    const desc = { mediaType: OCI_LAYER_TAR_GZIP, digest: `sha256:${d.hex}`, size: d.size };
    await store.putBlob(desc, createReadStream(path));
    descs.push(desc);
  }
  const configJson = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} };
  const config = storedJson(configJson);
  const configDesc = { mediaType: OCI_CONFIG, digest: config.digest, size: config.bytes.length };
  await store.putBlob(configDesc, config.bytes);
  await store.putManifest(
    storedJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: descs }),
    'bench',
  );
  await store.close();
  await writeFile(join(dir, 'done'), '');
  return { reference, layers, bytes };
}

async function imageBench(): Promise<void> {
  const image = await buildImage(Number(values['size-mib']));
  const out = join(root, 'image.spdx.json');
  const rss: number[] = [];
  const samples = await compare(
    [
      {
        name: 'airlock sbom -o spdx-json',
        run: async () =>
          rss.push(
            peakMiB(
              (await airlock(['sbom', image.reference, '-o', 'spdx-json', '--output-file', out, '--force'])).stderr,
            ),
          ),
      },
      {
        name: 'tar -tzf (floor)',
        run: async () => {
          for (const l of image.layers) await exec('tar', ['-tzf', l]);
        },
      },
    ],
    rounds,
  );
  const mib = image.bytes / 1024 / 1024;
  report(
    `SBOM of a ${mib.toFixed(0)} MiB image in ${image.layers.length} layers (target <= 1.5x the floor's time)`,
    samples,
    (s) => mib / s,
    'MiB/s',
  );
  console.log(`  airlock sbom peak RSS: ${median(rss).toFixed(0)} MiB`);
}

// ---------------------------------------------------------------------------------------------------
// 2. The scan: a synthetic SBOM and database, shaped like real ones (several ecosystems, most packages
//    named by a few records, most records about packages the SBOM does not have).

const ECOSYSTEMS = [
  { osv: 'npm', purl: (n: string, v: string) => `pkg:npm/${n}@${v}`, version: (i: number) => `1.${i % 20}.${i % 7}` },
  { osv: 'PyPI', purl: (n: string, v: string) => `pkg:pypi/${n}@${v}`, version: (i: number) => `2.${i % 13}.${i % 5}` },
  {
    osv: 'Go',
    purl: (n: string, v: string) => `pkg:golang/example.com/${n}@v${v}`,
    name: (n: string) => `example.com/${n}`,
    version: (i: number) => `0.${i % 11}.${i % 3}`,
  },
  {
    osv: 'Debian:12',
    purl: (n: string, v: string) => `pkg:deb/debian/${n}@${v}?arch=amd64&distro=debian-12`,
    version: (i: number) => `${1 + (i % 9)}.${i % 4}-${1 + (i % 3)}`,
  },
] as const;

function osvRecord(id: number, ecosystem: string, name: string, fixed: string): object {
  return {
    schema_version: '1.7.0',
    id: `BENCH-${id}`,
    modified: '2026-11-01T00:00:00Z',
    aliases: [`CVE-2026-${100000 + id}`],
    summary: `bench advisory ${id}`,
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [
      {
        package: { ecosystem, name },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
      },
    ],
  };
}

async function buildScanInputs(
  packages: number,
  records: number,
): Promise<{ sbom: string; db: string; emptyDb: string; key: string }> {
  const dir = join(root, `scan-${packages}-${records}`);
  const inputs = {
    sbom: join(dir, 'sbom.cdx.json'),
    db: join(dir, 'vulns.db'),
    emptyDb: join(dir, 'empty.db'),
    key: join(dir, 'bench.key'),
  };
  if (existsSync(join(dir, 'done'))) return inputs;
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'osv'), { recursive: true });
  await mkdir(join(dir, 'osv-empty'), { recursive: true });
  const components = [];
  for (let i = 0; i < packages; i++) {
    const eco = ECOSYSTEMS[i % ECOSYSTEMS.length]!;
    const name = `pkg-${i}`;
    components.push({
      type: 'library',
      'bom-ref': `c${i}`,
      name,
      version: eco.version(i),
      purl: eco.purl(name, eco.version(i)),
    });
  }
  const bom = { bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, components };
  await writeFile(inputs.sbom, JSON.stringify(bom));
  // Every SBOM package is named by four records (two fixed above its version, two below); the rest of
  // the records name packages the SBOM does not have, as most of a real database does.
  for (let id = 0; id < records; id++) {
    const hit = id < packages * 4;
    const i = hit ? Math.floor(id / 4) : packages + id;
    const eco = ECOSYSTEMS[i % ECOSYSTEMS.length]!;
    const name = 'name' in eco ? eco.name(`pkg-${i}`) : `pkg-${i}`;
    const fixed = id % 2 === 0 ? '99.0.0' : '0.0.1';
    const folder = join(dir, 'osv', String(id % 100));
    if (id < 100) await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `BENCH-${id}.json`), JSON.stringify(osvRecord(id, eco.osv, name, fixed)));
  }
  await writeFile(
    join(dir, 'osv-empty', 'BENCH-0.json'),
    JSON.stringify(osvRecord(0, 'npm', 'not-in-the-sbom', '1.0.0')),
  );
  await airlock(['key', 'generate', '--output-key-prefix', join(dir, 'bench')]);
  await airlock(['vulndb', 'build', join(dir, 'osv'), '-o', inputs.db, '--key', inputs.key]);
  await airlock(['vulndb', 'build', join(dir, 'osv-empty'), '-o', inputs.emptyDb, '--key', inputs.key]);
  await writeFile(join(dir, 'done'), '');
  return inputs;
}

async function scanBench(): Promise<void> {
  const packages = Number(values.packages);
  const records = Number(values.records);
  const inputs = await buildScanInputs(packages, records);
  const rss: Record<string, number[]> = {};
  const scan = (name: string, db: string) => ({
    name,
    run: async () => {
      const { stderr } = await airlock(['scan', inputs.sbom, '--db', db, '-o', 'json', '--unknown-severity', 'warn']);
      (rss[name] ??= []).push(peakMiB(stderr));
    },
  });
  const subject = `scan, ${records.toLocaleString('en')} records`;
  const floor = 'scan, a 1-record database (start-up + reading the SBOM)';
  const samples = await compare([scan(subject, inputs.db), scan(floor, inputs.emptyDb)], rounds);
  report(
    `scan of a ${packages.toLocaleString('en')}-package SBOM (target: set from the first run, see docs)`,
    samples,
    (s) => packages / s,
    'packages/s',
  );
  for (const [name, values] of Object.entries(rss)) console.log(`  ${name}: peak RSS ${median(values).toFixed(0)} MiB`);
}

if (values.only !== 'scan') await imageBench();
if (values.only !== 'image') await scanBench();
