// `airlock scan -o sarif`: the findings as SARIF 2.1.0 (OASIS, sarif-schema-2.1.0.json; validated against
// the official schema in sarif.test.ts), laid out as grype lays them out (grype/presenter/sarif):
//   - one run, its driver `airlock` with one rule (§3.49 reportingDescriptor) per vulnerability id, carrying
//     GitHub's `security-severity` property (the CVSS score, else 9.0/7.0/4.0/1.0 by rating, as grype);
//   - one result (§3.27) per finding: ruleId and ruleIndex, a level from the severity (critical and high →
//     error, medium → warning, low and negligible → note, as grype; unknown → warning rather than grype's
//     note, and unevaluable → error, since the gate fails both), a message, and the package's location: the
//     file it was found in (a relative URI in the image's file system) and its purl as a logical location;
//   - findings a reviewed exception covers as results with an accepted external suppression (§3.27.23);
//   - what the scan could not evaluate (it fails the gate) as error-level tool execution notifications of
//     an invocation that did not succeed (§3.20.21, §3.58).
import { bounded } from '../../text.ts';
import type { Finding } from '../finding.ts';
import type { ScanReport } from './report.ts';

export const SARIF_SCHEMA =
  'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

type Level = 'error' | 'warning' | 'note';

export function sarifLevel(f: Finding): Level {
  if (f.unevaluable !== undefined) return 'error';
  switch (f.severity) {
    case 'critical':
    case 'high':
      return 'error';
    case 'medium':
    case 'unknown':
      return 'warning';
    default:
      return 'note';
  }
}

const RATING_SCORE: Readonly<Record<string, string>> = { critical: '9.0', high: '7.0', medium: '4.0', low: '1.0' };

function securitySeverity(f: Finding): string {
  return f.score !== undefined && f.score > 0 ? f.score.toFixed(1) : (RATING_SCORE[f.severity] ?? '0.0');
}

/** A path in the image's file system as a relative URI reference (no leading slash, reserved characters escaped). */
export function imagePathUri(path: string): string {
  return encodeURI(path.replace(/^\/+/, '')).replace(/[?#]/g, (c) => encodeURIComponent(c));
}

function rule(f: Finding) {
  const fixes = f.fixedVersions.length > 0 ? `fixed in ${f.fixedVersions.join(', ')}` : 'no fix recorded';
  const description = f.summary ?? `${f.id} in ${f.package.name} (${fixes})`;
  const aliases = f.aliases.length > 0 ? ` Also known as ${f.aliases.join(', ')}.` : '';
  const source = f.severitySource ? ` (${f.severitySource})` : '';
  return {
    id: f.id,
    shortDescription: { text: `${f.id} ${f.severity} vulnerability for ${f.package.name} package` },
    fullDescription: { text: description },
    helpUri: `https://osv.dev/vulnerability/${encodeURIComponent(f.id)}`,
    help: { text: `Vulnerability ${f.id}.${aliases} Severity: ${f.severity}${source}.` },
    properties: { 'security-severity': securitySeverity(f), tags: ['security', 'vulnerability', f.severity] },
  };
}

function message(f: Finding, subject: string): string {
  const p = f.package;
  const where = `${p.type} package ${p.name}, version ${p.version}, in ${subject} at ${p.foundIn}`;
  const fix = f.fixedVersions.length > 0 ? `; fixed in ${f.fixedVersions.join(', ')}` : '';
  const state = f.unevaluable !== undefined ? ` could not be evaluated (${f.unevaluable})` : '';
  return `A ${f.severity} vulnerability (${f.id})${state}: ${where}${fix}`;
}

function result(f: Finding, ruleIndex: number, subject: string) {
  return {
    ruleId: f.id,
    ruleIndex,
    level: sarifLevel(f),
    message: { text: message(f, subject) },
    locations: [
      {
        physicalLocation: { artifactLocation: { uri: imagePathUri(f.package.foundIn) } },
        logicalLocations: [{ name: f.package.name, fullyQualifiedName: f.package.purl, kind: 'package' }],
      },
    ],
  };
}

/** The report as a SARIF 2.1.0 log (a JSON value). */
export function scanReportSarif(report: ScanReport): Record<string, unknown> {
  const rules: ReturnType<typeof rule>[] = [];
  const index = new Map<string, number>();
  for (const f of [...report.findings, ...report.ignored.map((i) => i.finding)]) {
    if (index.has(f.id)) continue;
    index.set(f.id, rules.length);
    rules.push(rule(f));
  }
  const subject = bounded(report.subject.name, 256);
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.scanner.name,
            version: report.scanner.version,
            informationUri: report.scanner.uri,
            rules,
          },
        },
        ...notEvaluatedInvocations(report),
        results: [
          ...report.findings.map((f) => result(f, index.get(f.id) ?? 0, subject)),
          // Findings a reviewed exception covers stay in the log, suppressed, with the exception's reason.
          ...report.ignored.map(({ finding, exception }) => ({
            ...result(finding, index.get(finding.id) ?? 0, subject),
            suppressions: [
              {
                kind: 'external',
                status: 'accepted',
                justification: `${exception.reason} (reviewed exception, expires ${exception.expires})`,
              },
            ],
          })),
        ],
      },
    ],
  };
}

/** An invocation listing what was not evaluated, when anything was not: an error each, and no success. */
function notEvaluatedInvocations(report: ScanReport): { invocations?: unknown[] } {
  if (report.notEvaluated.length === 0) return {};
  const notifications = report.notEvaluated.map((n) => ({
    level: 'error',
    message: { text: `not evaluated (fails the gate): ${n.what}: ${n.why}` },
  }));
  return { invocations: [{ executionSuccessful: false, toolExecutionNotifications: notifications }] };
}

export function renderSarif(report: ScanReport): string {
  return `${JSON.stringify(scanReportSarif(report), null, 2)}\n`;
}
