// `airlock scan --imported` / `--registry`: the images already inside, scanned again against the installed
// database, and what is new since the last rescan. The pure core is here — the diff against the previous
// rescan's findings, the report, the state the rescan leaves, the Prometheus textfile — and the I/O at
// the edges is in rescan-targets.ts (what to rescan, the kept SBOMs, the state file).
//
// Fail closed: an image that cannot be evaluated (no SBOM kept, an unreadable SBOM, a registry that did
// not answer) is listed as not evaluated and fails the gate; it is never silently skipped. Its previous
// findings stay in the state, so they do not come back as "new" once it is evaluated again.
import { SEVERITIES } from '../policy/severity.ts';
import { bounded } from '../text.ts';
import { epochSeconds, gaugeWriter, type GaugeSample } from '../trust/status.ts';
import type { Finding } from '../vuln/finding.ts';
import { describeGateFinding, describeNotEvaluated, evaluateGate, type GateOptions } from '../vuln/gate.ts';
import { countBySeverity, type ScanDatabase, type ScanReport } from '../vuln/report/report.ts';
import type { FindingSeverity } from '../vuln/severity.ts';

export const RESCAN_STATE_FORMAT = 'airlock.dev/rescan-state/v1';

/** What the last rescan found: per image digest, the keys of its findings (`id|package|version`). */
export interface RescanState {
  readonly format: typeof RESCAN_STATE_FORMAT;
  readonly at: string;
  readonly database?: string;
  readonly images: Readonly<Record<string, readonly string[]>>;
}

/** One image scanned. */
export interface RescannedImage {
  readonly name: string;
  readonly digest: string;
  readonly report: ScanReport;
  /** Findings not found for this digest by the previous rescan (all of them when it was never rescanned). */
  readonly new: readonly Finding[];
}

/** One image that could not be scanned, and why: counted as failing. */
export interface NotEvaluated {
  readonly name: string;
  readonly digest?: string;
  readonly reason: string;
}

export interface RescanReport {
  readonly at: string;
  readonly database: ScanDatabase;
  readonly images: readonly RescannedImage[];
  readonly notEvaluated: readonly NotEvaluated[];
  readonly newFindings: number;
  readonly previousAt?: string;
  readonly gate: { readonly options: GateOptions; readonly pass: boolean; readonly failing: readonly string[] };
}

export function findingKey(f: Finding): string {
  return `${f.id}|${f.package.name}|${f.package.version}`;
}

/** Findings whose key the previous rescan did not have for this digest (all, when it had none). */
export function newSince(previous: readonly string[] | undefined, findings: readonly Finding[]): Finding[] {
  if (previous === undefined) return [...findings];
  const seen = new Set(previous);
  return findings.filter((f) => !seen.has(findingKey(f)));
}

/** Each scan paired with what is new in it since `previous`. */
export function diffImages(
  scans: ReadonlyArray<{ readonly name: string; readonly digest: string; readonly report: ScanReport }>,
  previous: RescanState | undefined,
): RescannedImage[] {
  return scans.map((s) => ({ ...s, new: newSince(previous?.images[s.digest], s.report.findings) }));
}

/** The verdict across all images: any image's failing finding, or any image not evaluated, fails. */
export function rescanGate(
  images: readonly RescannedImage[],
  notEvaluated: readonly NotEvaluated[],
  options: GateOptions,
): RescanReport['gate'] {
  const failing = [
    ...images.flatMap((i) =>
      evaluateGate(i.report.findings, options).failing.map((f) => `${bounded(i.name, 120)}: ${describeGateFinding(f)}`),
    ),
    // What a scan could not evaluate in an image (no OSV ecosystem, no records, a file not read) fails too.
    ...images.flatMap((i) =>
      (i.report.notEvaluated ?? []).map((n) => `${bounded(i.name, 120)}: ${describeNotEvaluated(n)}`),
    ),
    ...notEvaluated.map((n) => `${bounded(n.name, 120)}: not evaluated (${bounded(n.reason, 200)})`),
  ];
  return { options, pass: failing.length === 0, failing };
}

export function rescanReport(input: {
  readonly at: Date;
  readonly database: ScanDatabase;
  readonly images: readonly RescannedImage[];
  readonly notEvaluated: readonly NotEvaluated[];
  readonly previous: RescanState | undefined;
  readonly gate: GateOptions;
}): RescanReport {
  return {
    at: input.at.toISOString(),
    database: input.database,
    images: input.images,
    notEvaluated: input.notEvaluated,
    newFindings: input.images.reduce((n, i) => n + i.new.length, 0),
    ...(input.previous ? { previousAt: input.previous.at } : {}),
    gate: rescanGate(input.images, input.notEvaluated, input.gate),
  };
}

/**
 * The state this rescan leaves: each evaluated image's finding keys replace its previous ones; an image not evaluated
 * this time keeps what it had, so its findings are not "new" again when it is next evaluated.
 */
export function nextRescanState(previous: RescanState | undefined, report: RescanReport): RescanState {
  const images: Record<string, readonly string[]> = { ...(previous?.images ?? {}) };
  for (const i of report.images) images[i.digest] = [...new Set(i.report.findings.map(findingKey))].sort();
  return { format: RESCAN_STATE_FORMAT, at: report.at, database: report.database.contentHash, images };
}

/** Reads a state file's content; anything else than a rescan state is no previous rescan (the first one). */
export function parseRescanState(doc: unknown): RescanState | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Partial<RescanState>;
  if (d.format !== RESCAN_STATE_FORMAT || typeof d.at !== 'string' || typeof d.images !== 'object' || !d.images)
    return undefined;
  const images: Record<string, string[]> = {};
  for (const [digest, keys] of Object.entries(d.images))
    if (Array.isArray(keys)) images[digest] = keys.filter((k): k is string => typeof k === 'string');
  return { format: RESCAN_STATE_FORMAT, at: d.at, ...(d.database ? { database: d.database } : {}), images };
}

const MAX_AUDIT_IDS = 100;

/** The rescan's audit event details: what was rescanned, against what, the counts and the new ids (bounded). */
export function rescanAuditDetails(report: RescanReport): Record<string, unknown> {
  const newIds = report.images.flatMap((i) => i.new.map((f) => `${f.id} ${f.package.name}@${f.package.version}`));
  return {
    database: {
      name: report.database.name,
      built: report.database.built,
      contentHash: report.database.contentHash,
    },
    images: report.images.length,
    findings: report.images.reduce((n, i) => n + i.report.findings.length, 0),
    newFindings: report.newFindings,
    newIds: newIds.slice(0, MAX_AUDIT_IDS).map((s) => bounded(s, 300)),
    ...(newIds.length > MAX_AUDIT_IDS ? { newIdsLeftOut: newIds.length - MAX_AUDIT_IDS } : {}),
    notEvaluated: report.notEvaluated.slice(0, MAX_AUDIT_IDS).map((n) => ({
      name: bounded(n.name, 300),
      ...(n.digest ? { digest: n.digest } : {}),
      reason: bounded(n.reason, 300),
    })),
    gate: { pass: report.gate.pass, failing: report.gate.failing.length },
    ...(report.previousAt ? { previousRescan: report.previousAt } : {}),
  };
}

const SEVERITY_ORDER: readonly FindingSeverity[] = [...SEVERITIES, 'unknown'];

/** A node-exporter textfile (text exposition format 0.0.4), named as `vulndb status --prometheus` names its gauges. */
export function rescanPrometheus(report: RescanReport): string {
  const lines: string[] = [];
  const metric = gaugeWriter(lines);
  const perSeverity = (findings: (i: RescannedImage) => readonly Finding[]): GaugeSample[] =>
    report.images.flatMap((i) => {
      const counts = countBySeverity(findings(i));
      return SEVERITY_ORDER.map((s): GaugeSample => [{ image: i.name, digest: i.digest, severity: s }, counts[s]]);
    });
  metric(
    'airlock_rescan_findings',
    'Findings of the last rescan per imported image and severity (after reviewed exceptions).',
    perSeverity((i) => i.report.findings),
  );
  metric(
    'airlock_rescan_new_findings',
    'Findings of the last rescan not found by the rescan before it, per image and severity.',
    perSeverity((i) => i.new),
  );
  metric(
    'airlock_rescan_image_evaluated',
    'Whether the last rescan could evaluate the image (0: no SBOM kept or unreadable; it fails the gate).',
    [
      ...report.images.map((i): GaugeSample => [{ image: i.name, digest: i.digest }, 1]),
      ...report.notEvaluated.map((n): GaugeSample => [{ image: n.name, digest: n.digest ?? '' }, 0]),
    ],
  );
  metric('airlock_rescan_timestamp_seconds', 'When the last rescan ran.', [[{}, epochSeconds(report.at)]]);
  metric('airlock_rescan_vulndb_built_timestamp_seconds', 'When the database the last rescan used was built.', [
    [{ name: report.database.name }, epochSeconds(report.database.built)],
  ]);
  metric('airlock_rescan_gate_pass', 'Whether the last rescan passed the gate (1) or not (0).', [
    [{}, report.gate.pass ? 1 : 0],
  ]);
  return `${lines.join('\n')}\n`;
}
