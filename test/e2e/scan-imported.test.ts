// Issue 25 item 5, as a user runs it: an image with npm packages is packed, imported into a registry
// (import keeps its SBOM in the state directory), database v1 is installed and `scan --imported` reports
// its findings as new; database v2 with one more advisory is installed and `scan --imported`, run inside
// `unshare -n` (no network at all, not even loopback), reports exactly that one finding as new, exits by
// the gate, writes the Prometheus textfile and records a vuln.rescan event. An imported image whose kept
// SBOM is deleted is then "not evaluated" and fails the gate.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { canUnshareNet, UNSHARE_NET } from '../helpers/netns.ts';
import { writeRecords } from '../helpers/osv-records.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { putLayeredImage } from '../helpers/sbom-layers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let registry: TestRegistry | undefined;
after(() => registry?.stop());
const dir = useTempDir('airlock-rescan-');
const missingRegistry = registryAvailable();
const home = (n: string) => join(dir, `home-${n}`);
const cli = (args: string[], h: string, prefix?: string[]) =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home(h) }, ...(prefix ? { prefix } : {}) });
const src = () => `oci:${join(dir, 'build')}:app-1.0`;
let digest = '';

const npmPackage = (name: string, version: string) => ({
  file: `app/node_modules/${name}/package.json`,
  data: JSON.stringify({ name, version, license: 'MIT' }),
});

/** A GHSA-shaped advisory: npm `name` affected from 0 until `fixed`, with GHSA's own severity word. */
const advisory = (id: string, name: string, fixed: string, severity: string) => ({
  schema_version: '1.7.0',
  id,
  modified: '2026-11-01T00:00:00Z',
  aliases: [`CVE-${id.slice(5)}`],
  affected: [
    {
      package: { ecosystem: 'npm', name },
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }],
    },
  ],
  database_specific: { severity },
});

const V1 = [
  advisory('GHSA-2026-0001', 'left-pad', '1.3.1', 'HIGH'),
  advisory('GHSA-2026-0002', 'lodash', '4.17.21', 'MODERATE'),
  advisory('GHSA-2026-0009', 'lodash', '4.17.0', 'HIGH'), // fixed before the installed version: no finding
];
const V2 = [...V1, advisory('GHSA-2026-0003', 'minimist', '1.2.6', 'CRITICAL')];

/** Builds `name` from `records` (once) and installs it as the default database of `h`. */
async function installDb(name: string, records: readonly Record<string, unknown>[], h = 'air'): Promise<void> {
  if (!existsSync(join(dir, name))) {
    await writeRecords(join(dir, `${name}-src`), records);
    const built = await cli(
      ['vulndb', 'build', join(dir, `${name}-src`), '-o', join(dir, name), '--key', join(dir, 'db.key')],
      'air',
    );
    assert.equal(built.code, 0, built.stderr);
  }
  const installed = await cli(['vulndb', 'import', join(dir, name), '--key', join(dir, 'db.pub')], h);
  assert.equal(installed.code, 0, installed.stderr);
}

before(async () => {
  const store = await openLayoutStore(join(dir, 'build'), { create: true });
  const image = await putLayeredImage(
    store,
    [
      [npmPackage('left-pad', '1.3.0'), npmPackage('lodash', '4.17.20')],
      [npmPackage('minimist', '1.2.5'), { file: 'app/index.js', data: 'console.log(1)\n' }],
    ],
    undefined,
    'app-1.0',
  );
  digest = image.manifest.digest;
  await store.close();
  for (const k of ['release', 'img'])
    assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, k)], 'pack')).code, 0);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(join(dir, 'db.key'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await writeFile(join(dir, 'db.pub'), publicKey.export({ format: 'pem', type: 'spki' }));
  assert.equal((await cli(['sign', src(), '--key', join(dir, 'img.key'), '--tlog-upload=false'], 'pack')).code, 0);
  if (!missingRegistry) registry = await startRegistry();
});

/** Packs the image (package #1 of channel prod, homes apart) and imports it into HOST/PREFIX from home `h`. */
async function packAndImport(name: string, packFlags: string[], prefix: string, h: string, host: string) {
  const pkg = join(dir, name);
  const release = ['--channel', 'prod', '--insecure-ignore-tlog'];
  const packed = await cli(
    [
      'pack',
      src(),
      '-o',
      pkg,
      '--key',
      join(dir, 'release.key'),
      '--image-key',
      join(dir, 'img.pub'),
      ...release,
    ].concat(packFlags),
    `pack-${h}`,
  );
  assert.equal(packed.code, 0, packed.stderr);
  const accept = ['--signer-key', join(dir, 'release.pub'), '--key', join(dir, 'img.pub'), ...release];
  const imported = await cli(['import', pkg, '--registry', `${host}/${prefix}`, '--insecure', ...accept, '--json'], h);
  assert.equal(imported.code, 0, imported.stderr);
  return imported;
}

interface RescanJson {
  images: Array<{ name: string; digest: string; findings: Array<{ id: string }>; new: Array<{ id: string }> }>;
  newFindings: number;
  notEvaluated: Array<{ name: string; reason: string }>;
  database: { name: string; built: string };
  error?: { code: string };
}

const ids = (fs: ReadonlyArray<{ id: string }>) => fs.map((f) => f.id).sort();

describe('airlock scan --imported', () => {
  it('import keeps the SBOM; v1 findings are new; v2 inside unshare -n: exactly the one new finding', async (t) => {
    if (!registry) return t.skip(missingRegistry);
    const imported = await packAndImport('p1.tar', [], 'mirror', 'air', registry.host);
    assert.deepEqual(JSON.parse(imported.stdout).warnings, []);
    const kept = join(home('air'), 'imports', 'sboms', `${digest.slice(7)}.json`);
    const sbom = JSON.parse(await readFile(kept, 'utf8')) as { packages: Array<{ name: string }> };
    assert.deepEqual(
      sbom.packages
        .map((p) => p.name)
        .filter((n) => !n.includes('/mirror/'))
        .sort(),
      ['left-pad', 'lodash', 'minimist'],
    );

    await installDb('v1.db', V1);
    const first = await cli(['scan', '--imported', '--fail-on', 'critical', '--json'], 'air');
    assert.equal(first.code, 0, first.stderr);
    const r1 = JSON.parse(first.stdout) as RescanJson;
    assert.equal(r1.images.length, 1);
    assert.equal(r1.images[0]?.digest, digest);
    assert.deepEqual(ids(r1.images[0]?.findings ?? []), ['CVE-2026-0001', 'CVE-2026-0002']);
    assert.deepEqual(ids(r1.images[0]?.new ?? []), ['CVE-2026-0001', 'CVE-2026-0002']);
    assert.equal(r1.newFindings, 2);

    await installDb('v2.db', V2);
    if (!canUnshareNet()) return t.skip('`unshare -n true` failed here (needs root): the offline rescan is not run');
    const prom = join(dir, 'rescan.prom');
    const second = await cli(
      ['scan', '--imported', '--fail-on', 'critical', '--prometheus', prom, '--json'],
      'air',
      UNSHARE_NET,
    );
    assert.equal(second.code, 1, `the new critical finding fails the gate: ${second.stderr}`);
    const r2 = JSON.parse(second.stdout) as RescanJson;
    assert.equal(r2.error?.code, 'E_GATE');
    assert.deepEqual(ids(r2.images[0]?.findings ?? []), ['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0003']);
    assert.deepEqual(ids(r2.images[0]?.new ?? []), ['CVE-2026-0003']);
    assert.equal(r2.newFindings, 1);
    assert.deepEqual(r2.notEvaluated, []);

    const text = await readFile(prom, 'utf8');
    const reference = r2.images[0]?.name ?? '';
    const sample = (metric: string, severity: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith(`${metric}{image="${reference}",digest="${digest}",severity="${severity}"}`))
        ?.split(' ')[1];
    assert.deepEqual(
      ['critical', 'high', 'medium'].map((s) => sample('airlock_rescan_findings', s)),
      ['1', '1', '1'],
    );
    assert.deepEqual(
      ['critical', 'high', 'medium'].map((s) => sample('airlock_rescan_new_findings', s)),
      ['1', '0', '0'],
    );
    assert.match(text, /^airlock_rescan_vulndb_built_timestamp_seconds\{name="default"\} \d+$/m);
    assert.match(text, /^airlock_rescan_timestamp_seconds\{\} \d+$/m);

    const events = (await verifyAuditLog(home('air'))).events.filter((e) => e.event.action === 'vuln.rescan');
    assert.equal(events.length, 2);
    const last = events.at(-1)?.event;
    assert.equal(last?.result, 'refused');
    assert.deepEqual(last?.subjects, [{ name: reference, digest }]);
    assert.equal((last?.details as { newFindings?: number }).newFindings, 1);
    assert.deepEqual((last?.details as { newIds?: string[] }).newIds, ['CVE-2026-0003 minimist@1.2.5']);

    // Nothing new since: the same database again reports no new finding (still failing on the critical one).
    const third = await cli(['scan', '--imported', '--fail-on', 'high', '--json'], 'air', UNSHARE_NET);
    assert.equal(third.code, 1);
    assert.equal((JSON.parse(third.stdout) as RescanJson).newFindings, 0);
    const passing = await cli(['scan', '--imported', '--json'], 'air', UNSHARE_NET);
    assert.equal(passing.code, 0, passing.stderr);

    // --registry reads the image from the registry instead (the network is needed): the same digest, nothing new.
    const fromRegistry = await cli(['scan', '--registry', reference, '--insecure', '--json'], 'air');
    assert.equal(fromRegistry.code, 0, fromRegistry.stderr);
    const rr = JSON.parse(fromRegistry.stdout) as RescanJson;
    assert.deepEqual([rr.images[0]?.digest, rr.images[0]?.findings.length, rr.newFindings], [digest, 3, 0]);

    // The kept SBOM deleted: the image is not evaluated, and that fails the gate even without --fail-on.
    await rm(kept);
    const lost = await cli(['scan', '--imported', '--json'], 'air', UNSHARE_NET);
    assert.equal(lost.code, 1, lost.stderr);
    const r4 = JSON.parse(lost.stdout) as RescanJson;
    assert.deepEqual(r4.images, []);
    assert.equal(r4.notEvaluated.length, 1);
    assert.equal(r4.notEvaluated[0]?.name, reference);
    const table = await cli(['scan', '--imported'], 'air', UNSHARE_NET);
    assert.equal(table.code, 1);
    assert.match(table.stdout, /NOT EVALUATED/);
    assert.match(table.stderr, /E_GATE|fails the gate/);
  });

  it('a package carrying an SBOM (pack --sbom generate): import keeps that document as it travelled', async (t) => {
    if (!registry) return t.skip(missingRegistry);
    await packAndImport('carried.tar', ['--sbom', 'generate'], 'carried', 'air-carried', registry.host);
    const index = JSON.parse(await readFile(join(home('air-carried'), 'imports', 'sboms', 'index.json'), 'utf8'));
    assert.deepEqual(
      index.images.map((i: { digest: string; sbom?: { from: string } }) => [i.digest, i.sbom?.from]),
      [[digest, 'carried']],
    );
    await installDb('v2.db', V2, 'air-carried');
    const r = await cli(['scan', '--imported', '--json'], 'air-carried');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as RescanJson;
    assert.deepEqual(ids(doc.images[0]?.new ?? []), ['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0003']);
  });

  it('usage: --imported takes no IMAGE; --prometheus needs a rescan; --imported and --registry exclude', async () => {
    for (const args of [
      ['scan', '--imported', 'x.json'],
      ['scan', 'x.json', '--prometheus', join(dir, 'p.prom')],
      ['scan', '--imported', '--registry', 'localhost:5000/a:1'],
      ['scan'],
    ]) {
      const r = await cli([...args, '--json'], 'usage');
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});
