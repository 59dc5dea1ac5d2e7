// Packages of an SBOM matched against OSV records: for each package, the records of its (ecosystem, name),
// minus withdrawn ones, evaluated with the package's version (osv/affected.ts), grouped by vulnerability
// (osv/aliases.ts) and rated (severity.ts). Pure: the database and the version orders are passed in.
//
// What is looked up, as osv-scalibr does it (enricher/vulnmatch/internal/osvutil/osvutil.go):
//   - deb and apk packages by their SOURCE package name (dpkg Source, apk origin), falling back to the
//     binary name, because Debian, Ubuntu and Alpine advisories are written per source package;
//   - rpm packages by their SRPM name AND their own name: scalibr uses the binary name for rpm, and
//     Red Hat, AlmaLinux and Rocky records list binary RPMs, while a feed written per source package
//     would name the SRPM; a record found under both names is evaluated once;
//   - PyPI names PEP 503-normalised (osv/names.ts, the normaliser the database uses); others as named;
//   - Go versions lose their `v` (and the toolchain's `go`), as OSV writes them (osv/names.ts);
//   - the version compared is the binary package's OWN version, also for a deb whose source version
//     differs (a binNMU `1.2-3+b1` of source `1.2-3`): osv-scalibr and osv-scanner compare
//     `pkg.Version`, never dpkg's source version (which scalibr keeps only for the purl).
// A record whose ranges cannot be evaluated for the version (the order throws) becomes an `unevaluable`
// finding, never a silent miss. A package with no OSV ecosystem is not matched: it is returned for the
// scan to report as not evaluated (which fails the gate). An ecosystem without an order gets a note, and
// its packages are still matched: `versions` lists and SEMVER ranges work, ECOSYSTEM ranges come out
// unevaluable.
import { AirlockError } from '../errors.ts';
import type { CataloguedPackage } from '../sbom/package.ts';
import { bounded } from '../text.ts';
import type { Finding, FindingPackage } from './finding.ts';
import { fixedVersions, isAffected } from './osv/affected.ts';
import { groupByVulnerability, primaryId, type VulnerabilityGroup } from './osv/aliases.ts';
import { osvPackageName, osvVersion } from './osv/names.ts';
import { rateFinding } from './severity.ts';
import type { AdvisorySource, OsvAffected, OsvRecord, VersionCompare } from './types.ts';

export interface MatchResult {
  readonly findings: Finding[];
  readonly notes: string[];
  /** Packages with no OSV ecosystem: not matched, so not evaluated (scan.ts reports them; the gate fails). */
  readonly noEcosystem: CataloguedPackage[];
}

/** A record matched against one package: the entries that said affected, or why none could be evaluated. */
interface Hit {
  readonly record: OsvRecord;
  readonly affected: readonly OsvAffected[];
  readonly unevaluable?: string;
}

/** The names a package is looked up by in its ecosystem (see the module comment). */
export function lookupNames(pkg: CataloguedPackage, ecosystem: string): string[] {
  const source = pkg.source?.name;
  const names =
    pkg.type === 'deb' || pkg.type === 'apk'
      ? [source ?? pkg.name]
      : pkg.type === 'rpm'
        ? [source, pkg.name]
        : [pkg.name];
  return [...new Set(names.flatMap((n) => (n === undefined ? [] : [osvPackageName(ecosystem, n)])))];
}

function reasonOf(err: unknown): string {
  return bounded(err instanceof Error ? err.message : String(err), 200);
}

/** One record against one package: a hit, or undefined when no matching entry says affected. */
function evaluate(
  record: OsvRecord,
  pkg: { ecosystem: string; names: readonly string[]; version: string },
  order: VersionCompare,
  semverOrder: VersionCompare,
): Hit | undefined {
  const entries = record.affected.filter(
    (a) => a.package.ecosystem === pkg.ecosystem && pkg.names.includes(osvPackageName(pkg.ecosystem, a.package.name)),
  );
  const affected: OsvAffected[] = [];
  let failure: unknown;
  for (const entry of entries) {
    try {
      if (isAffected(pkg.version, entry, order, semverOrder)) affected.push(entry);
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      failure ??= err;
    }
  }
  if (affected.length > 0) return { record, affected };
  return failure === undefined ? undefined : { record, affected: entries, unevaluable: reasonOf(failure) };
}

function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One group of hits (one vulnerability) as one finding; hits that decided win over unevaluable ones. */
function findingOf(group: VulnerabilityGroup<Hit>, pkg: FindingPackage): Finding {
  const decided = group.filter((g) => g.member.unevaluable === undefined);
  const used = decided.length > 0 ? decided : group;
  const hits = used.map((g) => g.member);
  const ids = uniqueSorted(used.flatMap((g) => g.ids));
  const id = primaryId(ids);
  const rating = rateFinding(hits);
  const summary = (hits.find((h) => h.record.id === id && h.record.summary) ?? hits.find((h) => h.record.summary))
    ?.record.summary;
  return {
    id: bounded(id, 128),
    aliases: ids.filter((x) => x !== id).map((x) => bounded(x, 128)),
    recordIds: uniqueSorted(hits.map((h) => bounded(h.record.id, 128))),
    package: pkg,
    severity: rating.severity,
    ...(rating.source === undefined ? {} : { severitySource: rating.source }),
    ...(rating.score === undefined ? {} : { score: rating.score }),
    fixedVersions: uniqueSorted(hits.flatMap((h) => h.affected.flatMap(fixedVersions))).map((v) => bounded(v, 128)),
    ...(summary === undefined ? {} : { summary: bounded(summary, 300) }),
    ...(decided.length > 0 ? {} : { unevaluable: group[0]?.member.unevaluable ?? 'not evaluable' }),
  };
}

/** An order for an ecosystem airlock has none for: every comparison is E_VERSION_INVALID (unevaluable). */
export function noOrder(ecosystem: string): VersionCompare {
  return () => {
    throw new AirlockError('E_VERSION_INVALID', `no version order for ecosystem '${bounded(ecosystem, 64)}'`);
  };
}

/** The findings for one package. */
function matchOne(
  pkg: CataloguedPackage & { ecosystem: string },
  source: AdvisorySource,
  order: VersionCompare,
  semverOrder: VersionCompare,
): Finding[] {
  const names = lookupNames(pkg, pkg.ecosystem);
  const found = names.flatMap((name) => source.recordsFor(pkg.ecosystem, name));
  const records = [...new Map(found.map((r) => [r.id, r])).values()].filter((r) => r.withdrawn === undefined);
  const query = { ecosystem: pkg.ecosystem, names, version: osvVersion(pkg.ecosystem, pkg.version) };
  const hits = records.flatMap((r) => evaluate(r, query, order, semverOrder) ?? []);
  const subject: FindingPackage = {
    name: bounded(pkg.name, 256),
    version: bounded(pkg.version, 128),
    ecosystem: bounded(pkg.ecosystem, 128),
    purl: bounded(pkg.purl, 1024),
    type: pkg.type,
    foundIn: bounded(pkg.foundIn, 1024),
  };
  return groupByVulnerability(hits, records)
    .map((group) => findingOf(group, subject))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every package against `source`; `orderFor` gives each ecosystem's version order, SEMVER ranges use `semverOrder`. */
export function matchPackages(
  packages: readonly CataloguedPackage[],
  source: AdvisorySource,
  orderFor: (ecosystem: string) => VersionCompare | undefined,
  semverOrder: VersionCompare,
): MatchResult {
  const findings: Finding[] = [];
  const unordered = new Map<string, number>();
  const noEcosystem: CataloguedPackage[] = [];
  for (const pkg of packages) {
    const ecosystem = pkg.ecosystem;
    if (ecosystem === undefined) {
      noEcosystem.push(pkg);
      continue;
    }
    let order = orderFor(ecosystem);
    if (!order) {
      unordered.set(ecosystem, (unordered.get(ecosystem) ?? 0) + 1);
      order = noOrder(ecosystem);
    }
    findings.push(...matchOne({ ...pkg, ecosystem }, source, order, semverOrder));
  }
  const notes = [...unordered].map(
    ([eco, n]) =>
      `no version order for ecosystem '${bounded(eco, 64)}' (${n} package(s)): only \`versions\` lists and ` +
      'SEMVER ranges were evaluated; records needing ECOSYSTEM ranges are reported as unevaluable',
  );
  return { findings, notes, noEcosystem };
}
