// `airlock scan --json` / `-o json`: the report as one JSON document. Its `findings` array is the
// contract scripts rely on: each item carries at least `id`, `aliases`, `package` {name, version,
// ecosystem, purl} and `severity` (issue 25's command line section).
import type { Finding } from '../finding.ts';
import type { ScanReport } from './report.ts';

/** The document's format, so a reader can tell this report from another tool's. */
export const SCAN_REPORT_FORMAT = 'airlock.dev/scan-report/v1';

/** A finding in the JSON report: fixed key order, absent optional fields left out. */
export function findingJson(f: Finding): Record<string, unknown> {
  return {
    id: f.id,
    aliases: f.aliases,
    package: {
      name: f.package.name,
      version: f.package.version,
      ecosystem: f.package.ecosystem,
      purl: f.package.purl,
      type: f.package.type,
      foundIn: f.package.foundIn,
    },
    severity: f.severity,
    ...(f.severitySource === undefined ? {} : { severitySource: f.severitySource }),
    ...(f.score === undefined ? {} : { cvssScore: f.score }),
    fixedVersions: f.fixedVersions,
    records: f.recordIds,
    ...(f.summary === undefined ? {} : { summary: f.summary }),
    ...(f.unevaluable === undefined ? {} : { unevaluable: f.unevaluable }),
  };
}

/** The report as a JSON value. */
export function scanReportJson(report: ScanReport): Record<string, unknown> {
  return {
    format: SCAN_REPORT_FORMAT,
    subject: report.subject,
    database: report.database,
    scanner: report.scanner,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    findings: report.findings.map(findingJson),
    ignored: report.ignored.map((i) => ({ ...findingJson(i.finding), exception: i.exception })),
    expiredExceptions: report.expiredExceptions,
    counts: report.counts,
    unknownCount: report.unknownCount,
    unevaluableCount: report.unevaluableCount,
    notEvaluatedCount: report.notEvaluated.length,
    notEvaluated: report.notEvaluated,
    ...(report.gate ? { gate: report.gate } : {}),
    notes: report.notes,
  };
}

/** The report as JSON text (two-space indented, newline-terminated). */
export function renderJson(report: ScanReport): string {
  return `${JSON.stringify(scanReportJson(report), null, 2)}\n`;
}
