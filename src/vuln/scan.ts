// One scan as a list of steps: match the catalogue's packages against the database, apply the reviewed
// exceptions, judge the gate, and put it all in one report every output format renders. Pure apart from
// the database lookups; the caller opens the database, passes the clock and raises the gate's error.
// What the scan could not evaluate is listed, and each item fails the gate (gate.ts): packages with no OSV
// ecosystem, packages of an ecosystem the database holds no records for (a database with no `Ubuntu:22.04`
// or no npm records cannot clear those packages), files the cataloguers could not read, SBOM entries
// without a usable purl. Grouped and bounded: one item per (type, distro) or (type, ecosystem).
import type { Catalogue, CataloguedPackage } from '../sbom/package.ts';
import { bounded } from '../text.ts';
import { VERSION } from '../version.ts';
import { evaluateGate, type GateOptions, type NotEvaluatedItem } from './gate.ts';
import { applyIgnores, type IgnoreEntry } from './ignore.ts';
import { matchPackages } from './match.ts';
import { type ScanDatabase, type ScanReport, scanReport } from './report/report.ts';
import type { AdvisorySource } from './types.ts';
import { semverOrder, versionOrderFor } from './versions/index.ts';

const MAX_NOT_EVALUATED = 200;

function distroLabel(catalogue: Catalogue, pkg: CataloguedPackage): string {
  const d = catalogue.distro;
  if (d) return [d.id, d.versionId].filter((x) => x !== undefined && x !== '').join(' ');
  const namespace = /^pkg:[^/]+\/([^/@]+)\//.exec(pkg.purl)?.[1];
  return namespace ? decodeURIComponentSafe(namespace) : 'an unknown distro';
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function counted(keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}

/** Every item the scan of `catalogue` could not evaluate; `ecosystems` is the database's, when known. */
export function notEvaluatedItems(
  catalogue: Catalogue,
  noEcosystem: readonly CataloguedPackage[],
  ecosystems: ReadonlySet<string> | undefined,
): NotEvaluatedItem[] {
  const items: NotEvaluatedItem[] = [];
  const byDistro = counted(noEcosystem.map((p) => `${p.type}\u0000${distroLabel(catalogue, p)}`));
  for (const [key, n] of byDistro) {
    const [type, distro] = key.split('\u0000') as [string, string];
    items.push({
      what: bounded(`${n} ${type} package(s) of ${distro}`, 200),
      why: `airlock knows no OSV ecosystem for this distro: they were not matched`,
    });
  }
  if (ecosystems) {
    const missing = catalogue.packages.filter((p) => p.ecosystem !== undefined && !ecosystems.has(p.ecosystem));
    for (const [key, n] of counted(missing.map((p) => `${p.type}\u0000${p.ecosystem}`))) {
      const [type, ecosystem] = key.split('\u0000') as [string, string];
      items.push({
        what: bounded(`${n} ${type} package(s) of ecosystem ${ecosystem}`, 200),
        why: 'the vulnerability database holds no records for this ecosystem: it cannot clear them',
      });
    }
  }
  for (const file of catalogue.unread ?? [])
    items.push({ what: bounded(file, 300), why: 'a file the cataloguers needed could not be read' });
  for (const entry of catalogue.unidentified ?? [])
    items.push({ what: bounded(entry, 300), why: 'an SBOM entry without a usable purl: it was not matched' });
  if (items.length <= MAX_NOT_EVALUATED) return items;
  const more = items.length - MAX_NOT_EVALUATED + 1;
  return [
    ...items.slice(0, MAX_NOT_EVALUATED - 1),
    { what: `${more} more item(s)`, why: 'not evaluated (list bounded)' },
  ];
}

export const SCANNER = { name: 'airlock', version: VERSION, uri: `pkg:npm/airlock@${VERSION}` } as const;

export interface ScanInput {
  readonly catalogue: Catalogue;
  /** How the user named what was scanned (an image reference or an SBOM file). */
  readonly subjectName: string;
  readonly source: AdvisorySource;
  readonly database: ScanDatabase;
  readonly ignores: readonly IgnoreEntry[];
  readonly gate: GateOptions;
  readonly now: () => Date;
}

export function scanCatalogue(input: ScanInput): ScanReport {
  const startedAt = input.now();
  const matched = matchPackages(input.catalogue.packages, input.source, versionOrderFor, semverOrder);
  const applied = applyIgnores(matched.findings, input.ignores, startedAt);
  const notEvaluated = notEvaluatedItems(input.catalogue, matched.noEcosystem, input.source.ecosystems?.());
  const result = evaluateGate(applied.kept, input.gate, notEvaluated);
  const digest = input.catalogue.subject?.digest;
  return scanReport({
    subject: { name: input.subjectName, ...(digest ? { digest } : {}) },
    database: input.database,
    scanner: SCANNER,
    startedAt,
    finishedAt: input.now(),
    applied,
    gate: { options: input.gate, result },
    notEvaluated,
    notes: [...input.catalogue.notes, ...matched.notes],
  });
}
