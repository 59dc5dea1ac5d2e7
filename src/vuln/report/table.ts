// `airlock scan -o table`: the findings as grype's table lays them out (NAME INSTALLED FIXED-IN TYPE
// VULNERABILITY SEVERITY), most severe first, then a summary line: counts per severity, unknown and
// unevaluable counts, what reviewed exceptions suppressed, expired exceptions, and the gate's verdict.
// Every cell is an outside string, so each is bounded and its control characters escaped.
import { SEVERITIES } from '../../policy/severity.ts';
import { bounded, textColumns } from '../../text.ts';
import type { Finding } from '../finding.ts';
import type { FindingSeverity } from '../severity.ts';
import { severityWord, TYPE_NAMES } from './grype-names.ts';
import type { ScanReport } from './report.ts';

const HEADER = ['NAME', 'INSTALLED', 'FIXED-IN', 'TYPE', 'VULNERABILITY', 'SEVERITY'] as const;

/** Most severe first, unknown above critical: the gate fails it unless told to warn. */
function rank(s: FindingSeverity): number {
  return s === 'unknown' ? SEVERITIES.length : SEVERITIES.indexOf(s);
}

function row(f: Finding): string[] {
  return [
    bounded(f.package.name, 60),
    bounded(f.package.version, 40),
    bounded(f.fixedVersions.join(', '), 40),
    TYPE_NAMES[f.package.type] ?? bounded(f.package.type, 20),
    bounded(f.id, 40),
    severityWord(f.severity) + (f.unevaluable === undefined ? '' : ' (unevaluable)'),
  ];
}

/** Code-point order: the same on every machine, whatever its locale. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The summary line under the table. */
export function summaryLine(report: ScanReport): string {
  const perSeverity = [...SEVERITIES]
    .reverse()
    .map((s) => `${report.counts[s]} ${s}`)
    .join(', ');
  const parts = [
    `${report.findings.length} finding(s): ${perSeverity}, ${report.unknownCount} unknown`,
    `${report.unevaluableCount} unevaluable`,
    `${report.notEvaluated.length} not evaluated`,
    `${report.ignored.length} ignored by reviewed exceptions`,
    `${report.expiredExceptions.length} expired exception(s)`,
  ];
  const gate = report.gate;
  if (gate) {
    const rule = `${gate.failOn ? `fail on ${gate.failOn}, ` : ''}unknown severity ${gate.unknownSeverity}s`;
    parts.push(`gate ${gate.pass ? 'passed' : `FAILED (${gate.failing.length})`} (${rule})`);
  }
  return parts.join('; ');
}

export function renderTable(report: ScanReport): string {
  const sorted = [...report.findings].sort(
    (a, b) =>
      rank(b.severity) - rank(a.severity) || byCodePoint(a.package.name, b.package.name) || byCodePoint(a.id, b.id),
  );
  const none =
    report.notEvaluated.length > 0 ? 'No vulnerabilities found in what was evaluated' : 'No vulnerabilities found';
  const lines = sorted.length > 0 ? textColumns([HEADER, ...sorted.map(row)]) : [none];
  lines.push('', summaryLine(report));
  for (const n of report.notEvaluated) lines.push(`NOT EVALUATED (fails the gate): ${n.what}: ${n.why}`);
  for (const e of report.expiredExceptions)
    lines.push(`expired exception (no longer applies): ${e.id} — expired ${e.expires}: ${bounded(e.reason, 200)}`);
  for (const n of report.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
