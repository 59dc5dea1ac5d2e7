// Synthetic OSV records, packages and version orders for the matcher's tests: every test builds its own
// records from these, so each case shows only the fields it is about.
import semver from 'semver';
import { AirlockError } from '../../src/errors.ts';
import type { CataloguedPackage } from '../../src/sbom/package.ts';
import type { Finding } from '../../src/vuln/finding.ts';
import { evaluateGate, type NotEvaluatedItem } from '../../src/vuln/gate.ts';
import { applyIgnores, parseIgnoreFile } from '../../src/vuln/ignore.ts';
import { type ScanReport, scanReport } from '../../src/vuln/report/report.ts';
import type { AdvisorySource, OsvAffected, OsvRecord, VersionCompare } from '../../src/vuln/types.ts';

/** SemVer 2 precedence; a version `semver` cannot read throws E_VERSION_INVALID, as the real orders do. */
export const semverOrder: VersionCompare = (a, b) => {
  for (const v of [a, b])
    if (!semver.valid(v)) throw new AirlockError('E_VERSION_INVALID', `'${v}' is not a SemVer version`);
  return semver.compare(a, b);
};

/** A toy ecosystem order: dot-separated integers compared numerically (`1.10` > `1.9`), nothing else. */
export const numericOrder: VersionCompare = (a, b) => {
  const parse = (v: string) => {
    if (!/^\d+(\.\d+)*$/.test(v)) throw new AirlockError('E_VERSION_INVALID', `'${v}' is not a numeric version`);
    return v.split('.').map(Number);
  };
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

export function affected(ecosystem: string, name: string, more: Partial<OsvAffected> = {}): OsvAffected {
  return { package: { ecosystem, name }, ranges: [], versions: [], severity: [], ...more };
}

export function osvRecord(id: string, more: Partial<OsvRecord> = {}): OsvRecord {
  return { id, modified: '2026-01-01T00:00:00Z', aliases: [], upstream: [], severity: [], affected: [], ...more };
}

export function catalogued(more: Partial<CataloguedPackage> & { name: string; version: string }): CataloguedPackage {
  return {
    type: 'pypi',
    licenses: [],
    foundIn: `/usr/lib/python3/dist-packages/${more.name}.dist-info/METADATA`,
    purl: `pkg:${more.type ?? 'pypi'}/${more.name}@${more.version}`,
    ecosystem: 'PyPI',
    ...more,
  };
}

/** An in-memory advisory source keyed as the database keys records: (ecosystem, name) of each affected entry. */
export function memorySource(records: readonly OsvRecord[], normalise = (_e: string, n: string) => n): AdvisorySource {
  return {
    recordsFor(ecosystem, name) {
      return records.filter((r) =>
        r.affected.some((a) => a.package.ecosystem === ecosystem && normalise(ecosystem, a.package.name) === name),
      );
    },
  };
}

/** A finding as the matcher makes them, for the steps after it (exceptions, the gate, the reports). */
export function finding(id: string, more: Partial<Finding> = {}): Finding {
  return {
    id,
    aliases: [],
    recordIds: [id],
    package: {
      name: 'openssl',
      version: '3.0.11-1',
      ecosystem: 'Debian:12',
      purl: 'pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12',
      type: 'deb',
      foundIn: '/var/lib/dpkg/status',
    },
    severity: 'high',
    fixedVersions: [],
    ...more,
  };
}

/** A PyPI package as a finding names it. */
export const pypiPackage = (name: string, version: string) => ({
  name,
  version,
  ecosystem: 'PyPI',
  purl: `pkg:pypi/${name}@${version}`,
  type: 'pypi' as const,
  foundIn: `/usr/lib/python3/dist-packages/${name}-${version}.dist-info/METADATA`,
});

/** Findings of every kind the reports show: each severity, unknown, unevaluable, one covered by an exception. */
export const SAMPLE_FINDINGS: Finding[] = [
  finding('CVE-2026-10', {
    aliases: ['DSA-5000-1', 'DEBIAN-CVE-2026-10'],
    recordIds: ['DEBIAN-CVE-2026-10', 'DSA-5000-1'],
    severity: 'critical',
    score: 9.8,
    severitySource: 'GHSA-x: CVSS_V3 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H (9.8)',
    fixedVersions: ['3.0.11-1~deb12u2'],
    summary: 'openssl: a critical bug',
  }),
  finding('GHSA-aaaa-bbbb-cccc', {
    package: pypiPackage('jinja2', '3.1.2'),
    severity: 'medium',
    fixedVersions: ['3.1.3'],
  }),
  finding('PYSEC-2026-1', { package: pypiPackage('urllib3', '1.26.5'), severity: 'unknown' }),
  finding('CVE-2026-11', {
    package: pypiPackage('weird pkg', '1.0#x'),
    severity: 'low',
    unevaluable: "'1.0#x' unreadable",
  }),
  finding('CVE-2026-12', { severity: 'high' }),
];

const EXCEPTIONS = `
- { id: CVE-2026-12, reason: "not reachable", expires: 2027-01-31 }
- { id: GHSA-old, reason: "was reviewed", expires: 2026-01-31 }
`;

/** A scan report over `findings`, one exception live and one expired, the gate failing on critical. */
export function sampleReport(
  findings: readonly Finding[] = SAMPLE_FINDINGS,
  notEvaluated: readonly NotEvaluatedItem[] = [],
): ScanReport {
  const now = new Date('2026-12-07T10:00:00Z');
  const applied = applyIgnores(findings, parseIgnoreFile(EXCEPTIONS, 'ignore.yaml'), now);
  const options = { failOn: 'critical', unknownSeverity: 'fail' } as const;
  return scanReport({
    subject: { name: 'registry.example/app:1', digest: `sha256:${'a'.repeat(64)}` },
    database: {
      name: 'osv',
      version: '2026.12.07-1',
      built: '2026-12-07T00:00:00Z',
      contentHash: `sha256:${'b'.repeat(64)}`,
    },
    scanner: { name: 'airlock', version: '0.1.0', uri: 'https://example.invalid/airlock' },
    startedAt: now,
    finishedAt: new Date(now.getTime() + 1500),
    applied,
    gate: { options, result: evaluateGate(applied.kept, options, notEvaluated) },
    notEvaluated,
    notes: ['rpm BerkeleyDB not read'],
  });
}
