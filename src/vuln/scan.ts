// One scan as a list of steps: match the catalogue's packages against the database, apply the reviewed
// exceptions, judge the gate, and put it all in one report every output format renders. Pure apart from
// the database lookups; the caller opens the database, passes the clock and raises the gate's error.
import type { Catalogue } from '../sbom/package.ts';
import { VERSION } from '../version.ts';
import { evaluateGate, type GateOptions } from './gate.ts';
import { applyIgnores, type IgnoreEntry } from './ignore.ts';
import { matchPackages } from './match.ts';
import { type ScanDatabase, type ScanReport, scanReport } from './report/report.ts';
import type { AdvisorySource } from './types.ts';
import { semverOrder, versionOrderFor } from './versions/index.ts';

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
  const result = evaluateGate(applied.kept, input.gate);
  const digest = input.catalogue.subject?.digest;
  return scanReport({
    subject: { name: input.subjectName, ...(digest ? { digest } : {}) },
    database: input.database,
    scanner: SCANNER,
    startedAt,
    finishedAt: input.now(),
    applied,
    gate: { options: input.gate, result },
    notes: [...input.catalogue.notes, ...matched.notes],
  });
}
