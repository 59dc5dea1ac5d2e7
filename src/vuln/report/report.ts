// What one scan found, in one value every output format renders (json.ts, table.ts, sarif.ts,
// cosign-vuln.ts): what was scanned, against which database, the findings left after reviewed exceptions,
// the ones those exceptions suppressed (with their reasons), exceptions that have expired, counts per
// severity, how many were of unknown severity or unevaluable, the gate's verdict, and the notes of the
// cataloguers and the matcher. Pure: the caller passes the times.
import { SEVERITIES } from '../../policy/severity.ts';
import { bounded } from '../../text.ts';
import type { Finding } from '../finding.ts';
import type { GateOptions, GateResult, NotEvaluatedItem } from '../gate.ts';
import type { IgnoreEntry, IgnoreResult } from '../ignore.ts';
import type { FindingSeverity } from '../severity.ts';

export interface ScanSubject {
  /** The image reference or SBOM file as given. */
  readonly name: string;
  readonly digest?: string;
}

export interface ScanDatabase {
  readonly name: string;
  readonly version: string;
  /** When the database was built (RFC 3339). */
  readonly built: string;
  /** `sha256:…` of its content, as its manifest records it. */
  readonly contentHash: string;
  /** Where it came from, when known (cosign-vuln's `scanner.db.uri`). */
  readonly uri?: string;
}

export interface ScannerInfo {
  readonly name: string;
  readonly version: string;
  readonly uri: string;
}

/** An exception as a report shows it. */
export interface ReportedException {
  readonly id: string;
  readonly package?: { readonly name: string; readonly version?: string };
  readonly reason: string;
  readonly expires: string;
}

export interface ScanReport {
  readonly subject: ScanSubject;
  readonly database: ScanDatabase;
  readonly scanner: ScannerInfo;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Findings after reviewed exceptions. */
  readonly findings: readonly Finding[];
  readonly ignored: ReadonlyArray<{ readonly finding: Finding; readonly exception: ReportedException }>;
  /** Exceptions past their expiry: they suppressed nothing. */
  readonly expiredExceptions: readonly ReportedException[];
  /** Findings (after exceptions) per severity, every severity present, `unknown` last. */
  readonly counts: Readonly<Record<FindingSeverity, number>>;
  readonly unknownCount: number;
  readonly unevaluableCount: number;
  /** What the scan could not evaluate (no OSV ecosystem, no records for the ecosystem, a file not read, an
   * SBOM entry without a purl): each one fails the gate. */
  readonly notEvaluated: readonly NotEvaluatedItem[];
  readonly gate?: {
    readonly failOn?: string;
    readonly unknownSeverity: 'fail' | 'warn';
    readonly pass: boolean;
    /** Ids (with package) of the failing findings. */
    readonly failing: readonly string[];
  };
  readonly notes: readonly string[];
}

export interface ScanReportInput {
  readonly subject: ScanSubject;
  readonly database: ScanDatabase;
  readonly scanner: ScannerInfo;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly applied: IgnoreResult;
  readonly gate?: { readonly options: GateOptions; readonly result: GateResult };
  readonly notEvaluated?: readonly NotEvaluatedItem[];
  readonly notes: readonly string[];
}

function reported(entry: IgnoreEntry): ReportedException {
  return {
    id: bounded(entry.id, 128),
    ...(entry.package
      ? {
          package: {
            name: bounded(entry.package.name, 256),
            ...(entry.package.version === undefined ? {} : { version: bounded(entry.package.version, 128) }),
          },
        }
      : {}),
    reason: bounded(entry.reason, 1024),
    expires: bounded(entry.expires, 64),
  };
}

/** Findings per severity, every severity of the scale (and unknown) present. */
export function countBySeverity(findings: readonly Finding[]): Record<FindingSeverity, number> {
  const counts = Object.fromEntries([...SEVERITIES, 'unknown'].map((s) => [s, 0])) as Record<FindingSeverity, number>;
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}

export function scanReport(input: ScanReportInput): ScanReport {
  const findings = input.applied.kept;
  const gate = input.gate;
  return {
    subject: input.subject,
    database: input.database,
    scanner: input.scanner,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    findings,
    ignored: input.applied.ignored.map(({ finding, entry }) => ({ finding, exception: reported(entry) })),
    expiredExceptions: input.applied.expired.map(reported),
    counts: countBySeverity(findings),
    unknownCount: findings.filter((f) => f.severity === 'unknown').length,
    unevaluableCount: findings.filter((f) => f.unevaluable !== undefined).length,
    notEvaluated: (input.notEvaluated ?? []).map((n) => ({ what: bounded(n.what, 300), why: bounded(n.why, 300) })),
    ...(gate
      ? {
          gate: {
            ...(gate.options.failOn ? { failOn: gate.options.failOn } : {}),
            unknownSeverity: gate.options.unknownSeverity,
            pass: gate.result.pass,
            failing: [
              ...gate.result.notEvaluated.map((n) => `not evaluated: ${bounded(n.what, 200)}`),
              ...gate.result.failing.map((f) => `${f.id} in ${f.package.name}@${f.package.version}`),
            ],
          },
        }
      : {}),
    notes: input.notes.map((n) => bounded(n, 1024)),
  };
}
