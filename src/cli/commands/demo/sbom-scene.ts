// The demo's SBOM and vulnerability scenes. Connected side: the sample image's SBOM made by airlock
// itself, a vulnerability database built from advisories the demo writes — SAMPLE advisories, clearly
// labelled; the matching is real —, signed with the release key, and the image scanned against it.
// Air-gapped side: the database that crossed with the package, installed by import, and the imported
// image rescanned against it with no network.
import { type KeyObject, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../../../crypto/signer.ts';
import type { Catalogue } from '../../../sbom/package.ts';
import { VERSION } from '../../../version.ts';
import type { ScanReport } from '../../../vuln/report/report.ts';
import type { DemoRun } from './run.ts';

/** The demo's gate, on both sides: critical findings refuse, unknown severity counts as failing. */
const DEMO_GATE = { failOn: 'critical', unknownSeverity: 'fail' } as const;

export interface SbomDocuments {
  readonly sbom: string;
  readonly scan: string;
  readonly vulndb: string;
}

/** OSV records written by the demo: SAMPLE advisories about the sample image's packages. */
function sampleAdvisories(): Array<Record<string, unknown>> {
  const advisory = (n: number, ecosystem: string, name: string, type: string, fixed: string, vector: string) => ({
    schema_version: '1.7.0',
    id: `AIRLOCK-DEMO-2026-000${n}`,
    modified: '2026-11-01T00:00:00Z',
    summary: `SAMPLE advisory written by airlock demo (not a real vulnerability) about ${name}`,
    severity: [{ type: 'CVSS_V3', score: vector }],
    affected: [{ package: { ecosystem, name }, ranges: [{ type, events: [{ introduced: '0' }, { fixed }] }] }],
  });
  return [
    // openssl is libssl3's source package: distro advisories name source packages, and so does matching.
    advisory(
      1,
      'Debian:12',
      'openssl',
      'ECOSYSTEM',
      '3.0.13-1~deb12u1',
      'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N',
    ),
    advisory(2, 'npm', 'ms', 'SEMVER', '2.1.3', 'CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N'),
    // Fixed long before the sample's requests 2.28.1: must not match.
    advisory(3, 'PyPI', 'requests', 'ECOSYSTEM', '2.20.0', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'),
  ];
}

function describeFindings(report: ScanReport): string {
  const found = report.findings.map((f) => `${f.id} (${f.severity}) in ${f.package.name} ${f.package.version}`);
  return found.length ? found.join('; ') : 'none';
}

export async function sbomAndScan(run: DemoRun, ref: string, signer: Signer): Promise<SbomDocuments> {
  run.step("the image's SBOM, made by airlock from its layers (airlock sbom -o spdx-json)");
  const { catalogueImageReference } = await import('../../../sbom/image-sbom.ts');
  const { formatCatalogue } = await import('../../../sbom/formats/index.ts');
  const catalogue = await catalogueImageReference(ref);
  const sbom = join(run.work, 'sbom.spdx.json');
  await writeFile(
    sbom,
    formatCatalogue(catalogue, 'spdx-json', { now: run.now, uuid: randomUUID(), toolVersion: VERSION }),
  );
  const names = catalogue.packages.map((p) => `${p.name} ${p.version} (${p.type})`).join(', ');
  run.out.info(
    `  ${catalogue.packages.length} packages on ${catalogue.distro?.prettyName ?? 'an unknown distro'}: ${names}`,
  );
  run.record('sbom', catalogue.packages.length > 0);

  run.step('a vulnerability database from SAMPLE advisories, signed (airlock vulndb build --key)');
  const advisories = join(run.work, 'sample-advisories');
  await mkdir(advisories, { recursive: true });
  for (const a of sampleAdvisories()) await writeFile(join(advisories, `${String(a.id)}.json`), JSON.stringify(a));
  const { buildVulnDb } = await import('../../../vuln/db/build.ts');
  const vulndb = join(run.work, 'vuln.db');
  const built = await buildVulnDb({ sources: [advisories], out: vulndb, signer, now: run.now });
  run.out.info(
    `  ${vulndb}: ${built.manifest.records} SAMPLE advisories (labelled as such), signed by the release key`,
  );
  run.record('vulndb build', true);

  run.step('scan the image against it, gate on critical (airlock scan --db --fail-on critical)');
  const report = await scanWith(vulndb, signer.publicKey, catalogue, ref, run);
  const scan = join(run.work, 'scan.json');
  const { renderJson } = await import('../../../vuln/report/json.ts');
  await writeFile(scan, renderJson(report));
  run.out.info(`  findings: ${describeFindings(report)}; gate ${report.gate?.pass ? 'passed' : 'FAILED'}`);
  run.record('scan', report.gate?.pass === true && report.findings.length === 2);
  return { sbom, scan, vulndb };
}

/** What `airlock scan --db DB --db-key KEY --fail-on critical` does: verify the database, match, gate. */
async function scanWith(path: string, key: KeyObject, catalogue: Catalogue, subject: string, run: DemoRun) {
  const { openScanDatabase } = await import('../../../vuln/scan-database.ts');
  const { scanCatalogue } = await import('../../../vuln/scan.ts');
  const db = await openScanDatabase({ kind: 'file', path, keys: [key] }, run.work, run.now);
  try {
    return scanCatalogue({
      catalogue,
      subjectName: subject,
      source: db.opened.source,
      database: db.database,
      ignores: [],
      gate: DEMO_GATE,
      now: () => run.now,
    });
  } finally {
    db.opened.close();
  }
}

/**
 * Inside: every image the import published, rescanned from the SBOM the import kept against the database
 * that crossed with it (installed as `default`) — no network, no image read again: `airlock scan --imported`.
 */
export async function rescanInside(run: DemoRun, stateDir: string): Promise<void> {
  run.step('rescan what was imported against the database that crossed, offline (airlock scan --imported)');
  const { importedTargets, rescan } = await import('../../../transfer/rescan-targets.ts');
  const { openScanDatabase } = await import('../../../vuln/scan-database.ts');
  const db = await openScanDatabase(undefined, stateDir, run.now);
  try {
    const report = await rescan({
      targets: await importedTargets(stateDir, undefined),
      previous: undefined,
      source: db.opened.source,
      database: db.database,
      ignores: [],
      gate: DEMO_GATE,
      now: () => run.now,
    });
    for (const image of report.images)
      run.out.info(`  ${image.name}: ${image.report.findings.length} finding(s), ${image.new.length} new`);
    run.out.info(`  database '${db.database.name}' built ${db.database.built}, installed by the import`);
    const found = report.images.reduce((n, i) => n + i.report.findings.length, 0);
    run.record('rescan', report.images.length === 1 && report.notEvaluated.length === 0 && found === 2);
  } finally {
    db.opened.close();
  }
}
