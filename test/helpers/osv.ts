// Synthetic OSV records, packages and version orders for the matcher's tests: every test builds its own
// records from these, so each case shows only the fields it is about.
import semver from 'semver';
import { AirlockError } from '../../src/errors.ts';
import type { CataloguedPackage } from '../../src/sbom/package.ts';
import type { Finding } from '../../src/vuln/finding.ts';
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
