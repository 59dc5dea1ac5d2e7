// SBOMs (SPDX or CycloneDX JSON, as syft writes them) and vulnerability scans (grype JSON) that travel
// with packed images: their summaries, the image each says it is about, and the gate that keeps
// findings at or above a severity from crossing the gap. Pure: documents in, verdicts out.
import { AirlockError } from '../errors.ts';
import { bounded, boundedList } from '../text.ts';
import type { DocumentSubject } from './format.ts';

import { type Severity, severityNamed } from '../policy/severity.ts';
import { SCAN_REPORT_FORMAT } from '../vuln/report/json.ts';
import { failsGate } from '../vuln/gate.ts';

export { parseSeverity, SEVERITIES, type Severity } from '../policy/severity.ts';

/** What a gate says of a finding whose severity it cannot read: it cannot pass what it cannot judge. */
export const UNKNOWN_SEVERITY = 'severity unknown: cannot evaluate, counted as failing';

export interface SbomSummary {
  readonly format: 'spdx' | 'cyclonedx';
  readonly predicateType: string;
  readonly packages: number;
  /** The image digests the document names as what it describes (empty: it names none). */
  readonly subjects: readonly string[];
}

export interface Finding {
  readonly id: string;
  readonly severity: Severity | 'unknown';
  readonly package: string;
  /**
   * Why airlock could not evaluate it (an airlock report's unevaluable finding, or an item of its
   * `notEvaluated`): such a finding fails every gate, with or without a threshold, whatever
   * `--unknown-severity` says — as `airlock scan`'s own gate (vuln/gate.ts).
   */
  readonly unevaluable?: string;
}

export interface ScanSummary {
  readonly counts: Readonly<Record<string, number>>;
  readonly findings: readonly Finding[];
  /** The image digests the report names as what was scanned (empty: it names none). */
  readonly subjects: readonly string[];
}

const DIGEST = /sha256:[0-9a-f]{64}/i;

/** Digests found in a value that names an image: `sha256:…`, `repo@sha256:…`, or a purl's `@sha256%3A…`. */
function digestsIn(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const text = value.replace(/%3a/gi, ':');
  const m = DIGEST.exec(text);
  return m ? [m[0].toLowerCase()] : [];
}

function purlDigests(refs: unknown): string[] {
  if (!Array.isArray(refs)) return [];
  return refs.flatMap((r) => {
    const ref = r as { referenceType?: unknown; referenceLocator?: unknown };
    return ref?.referenceType === 'purl' &&
      typeof ref.referenceLocator === 'string' &&
      ref.referenceLocator.startsWith('pkg:oci/')
      ? digestsIn(ref.referenceLocator)
      : [];
  });
}

/** SPDX: the packages the document DESCRIBES (documentDescribes, or DESCRIBES relationships), or CONTAINER packages. */
function spdxSubjects(doc: Record<string, unknown>): string[] {
  const packages = Array.isArray(doc.packages) ? (doc.packages as Array<Record<string, unknown>>) : [];
  const described = new Set<string>(
    Array.isArray(doc.documentDescribes) ? doc.documentDescribes.filter((d): d is string => typeof d === 'string') : [],
  );
  for (const rel of Array.isArray(doc.relationships) ? (doc.relationships as Array<Record<string, unknown>>) : []) {
    if (
      rel?.spdxElementId === 'SPDXRef-DOCUMENT' &&
      rel.relationshipType === 'DESCRIBES' &&
      typeof rel.relatedSpdxElement === 'string'
    )
      described.add(rel.relatedSpdxElement);
  }
  const roots = packages.filter((p) => described.has(String(p?.SPDXID)) || p?.primaryPackagePurpose === 'CONTAINER');
  return unique(roots.flatMap((p) => [...digestsIn(p.versionInfo), ...purlDigests(p.externalRefs)]));
}

/** CycloneDX: metadata.component, the thing the BOM is about. */
function cyclonedxSubjects(doc: Record<string, unknown>): string[] {
  const component = (doc.metadata as { component?: Record<string, unknown> } | undefined)?.component;
  if (!component) return [];
  return unique([
    ...digestsIn(component.version),
    ...(typeof component.purl === 'string' && component.purl.startsWith('pkg:oci/') ? digestsIn(component.purl) : []),
  ]);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function summariseSbom(doc: unknown, source: string): SbomSummary {
  const d = doc as Record<string, unknown> | null;
  if (typeof d?.spdxVersion === 'string') {
    return {
      format: 'spdx',
      predicateType: 'https://spdx.dev/Document',
      packages: Array.isArray(d.packages) ? d.packages.length : 0,
      subjects: spdxSubjects(d),
    };
  }
  if (d?.bomFormat === 'CycloneDX') {
    return {
      format: 'cyclonedx',
      predicateType: 'https://cyclonedx.org/bom',
      packages: Array.isArray(d.components) ? d.components.length : 0,
      subjects: cyclonedxSubjects(d),
    };
  }
  throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: not an SPDX or CycloneDX JSON SBOM`);
}

/** grype's `source.target` of an image scan: imageID (config), manifestDigest, repoDigests. */
function grypeSubjects(doc: Record<string, unknown>): string[] {
  const source = doc.source as { type?: unknown; target?: Record<string, unknown> } | undefined;
  if (source?.type !== 'image' || typeof source.target !== 'object' || source.target === null) return [];
  const t = source.target;
  return unique([
    ...digestsIn(t.manifestDigest),
    ...digestsIn(t.imageID),
    ...(Array.isArray(t.repoDigests) ? t.repoDigests.flatMap(digestsIn) : []),
  ]);
}

/** grype's JSON output: matches[].vulnerability.{id,severity} with matches[].artifact.{name,version}. */
export function summariseGrypeScan(doc: unknown, source: string): ScanSummary {
  const matches = (doc as { matches?: unknown })?.matches;
  if (!Array.isArray(matches))
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: not a grype JSON report (no matches[])`);
  const findings: Finding[] = matches.map((m, i) => {
    if (typeof m !== 'object' || m === null)
      throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: matches[${i}] is not a finding`);
    const v = (m as { vulnerability?: { id?: unknown; severity?: unknown } }).vulnerability ?? {};
    const a = (m as { artifact?: { name?: unknown; version?: unknown } }).artifact ?? {};
    const text = (x: unknown) => (typeof x === 'string' ? bounded(x, 128) : '?');
    return {
      id: text(v.id),
      severity: (typeof v.severity === 'string' && severityNamed(v.severity)) || 'unknown',
      package: `${text(a.name)}@${text(a.version)}`,
    };
  });
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return { counts, findings, subjects: grypeSubjects(doc as Record<string, unknown>) };
}

/** A report's `notEvaluated` items ({what, why}: a package or file not evaluated) as failing findings. */
function notEvaluatedFindings(value: unknown, source: string): Finding[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: notEvaluated is not a list`);
  return value.map((item: unknown) => {
    const i = (typeof item === 'object' && item !== null ? item : {}) as { what?: unknown; why?: unknown };
    return {
      id: 'not evaluated',
      severity: 'unknown',
      package: typeof i.what === 'string' ? bounded(i.what, 256) : '?',
      unevaluable: typeof i.why === 'string' ? bounded(i.why, 200) : 'not evaluated',
    };
  });
}

/**
 * `airlock scan -o json`'s report (what `pack --scan` generates): findings[].{id, severity, package}. An
 * unevaluable finding is counted as of unknown severity (the counts the metadata records) and carries
 * `unevaluable`, as does each item of `notEvaluated` (not counted): both fail every gate, as the scan's
 * own gate does.
 */
export function summariseAirlockScan(doc: Record<string, unknown>, source: string): ScanSummary {
  const items = doc.findings;
  if (!Array.isArray(items))
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: an airlock scan report without findings[]`);
  const text = (x: unknown) => (typeof x === 'string' ? bounded(x, 128) : '?');
  const findings: Finding[] = items.map((m, i) => {
    if (typeof m !== 'object' || m === null)
      throw new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: findings[${i}] is not a finding`);
    const f = m as { id?: unknown; severity?: unknown; unevaluable?: unknown; package?: Record<string, unknown> };
    const named = typeof f.severity === 'string' ? severityNamed(f.severity) : undefined;
    return {
      id: text(f.id),
      severity: (f.unevaluable === undefined && named) || 'unknown',
      package: `${text(f.package?.name)}@${text(f.package?.version)}`,
      ...(f.unevaluable === undefined
        ? {}
        : { unevaluable: typeof f.unevaluable === 'string' ? bounded(f.unevaluable, 200) : 'not evaluable' }),
    };
  });
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  const subject = doc.subject as { digest?: unknown } | undefined;
  return {
    counts,
    findings: [...findings, ...notEvaluatedFindings(doc.notEvaluated, source)],
    subjects: unique(digestsIn(subject?.digest)),
  };
}

/** A scan report as the gate reads it: airlock's own (by its `format`), else grype's JSON. */
export function summariseScan(doc: unknown, source: string): ScanSummary {
  const d = doc as Record<string, unknown> | null;
  if (typeof d === 'object' && d !== null && d.format === SCAN_REPORT_FORMAT) return summariseAirlockScan(d, source);
  return summariseGrypeScan(doc, source);
}

/**
 * The failing findings: unevaluable ones always (with or without `failOn`, whatever `unknownSeverity`
 * says); those at or above `failOn`; unknown severities (cannot evaluate = deny) unless `unknownSeverity`
 * is 'warn' (`pack --unknown-severity warn`). Without `failOn`, only unevaluable findings fail.
 */
export function gateFindings(
  scan: ScanSummary,
  failOn: Severity | undefined,
  unknownSeverity: 'fail' | 'warn' = 'fail',
): Finding[] {
  // Without a threshold the transfer gate only stops what no one could evaluate; with one, it is the scan's gate.
  return scan.findings.filter((f) =>
    failOn === undefined ? f.unevaluable !== undefined : failsGate(f, { failOn, unknownSeverity }),
  );
}

/** One failing finding as the gate reports it. */
export function describeFinding(f: Finding): string {
  const why =
    f.unevaluable !== undefined
      ? `unevaluable: ${f.unevaluable}`
      : f.severity === 'unknown'
        ? UNKNOWN_SEVERITY
        : f.severity;
  return `${f.id} (${why}) in ${f.package}`;
}

/** E_GATE listing what failed (bounded), or nothing when every finding is below `failOn`. */
export function enforceGate(
  failing: ReadonlyArray<{ image: string; finding: Finding }>,
  failOn: Severity | undefined,
  action: string,
): void {
  if (failing.length === 0) return;
  const unevaluable = failing.filter((f) => f.finding.unevaluable !== undefined).length;
  const unknown = failing.filter((f) => f.finding.severity === 'unknown').length - unevaluable;
  const lines = failing.map((f) => `${bounded(f.image, 120)}: ${describeFinding(f.finding)}`);
  const kinds = [
    ...(unknown + unevaluable < failing.length ? [`at or above ${failOn ?? '?'}`] : []),
    ...(unknown > 0
      ? [unknown === failing.length ? `of unknown severity (${UNKNOWN_SEVERITY})` : 'of unknown severity']
      : []),
    ...(unevaluable > 0 ? ['unevaluable (airlock could not evaluate them: always failing)'] : []),
  ];
  const what = kinds.join(', or ');
  throw new AirlockError(
    'E_GATE',
    `${failing.length} finding(s) ${what}: ${action}\n  ${boundedList(lines, 20, '\n  ')}`,
    {
      details: { failOn: failOn ?? null, findings: lines.slice(0, 100), total: lines.length },
    },
  );
}

/**
 * Whether a document is about this image: one digest it names must be one of the image's (its
 * manifest or index, a platform manifest of it, a config). A document that names another image is
 * refused, showing both; one that names none is said to name none, never taken as a match.
 */
export function matchSubject(
  named: readonly string[],
  image: ReadonlySet<string>,
  what: string,
  imageName: string,
): DocumentSubject {
  if (named.length === 0) return { recorded: false };
  const hit = named.find((d) => image.has(d));
  if (hit) return { matched: hit };
  throw new AirlockError(
    'E_ARTIFACT_MISMATCH',
    `${what} describes ${boundedList(named, 4)}, not ${bounded(imageName, 120)} (${[...image].slice(0, 4).join(', ')})`,
    {
      hint:
        'generate the SBOM or scan from the very image being packed (by digest), e.g. syft ' +
        'IMAGE@sha256:… / grype IMAGE@sha256:…',
      details: { document: named.slice(0, 8), image: [...image].slice(0, 8) },
    },
  );
}

export function describeSubject(subject: DocumentSubject | undefined): string {
  if (!subject) return 'subject not checked (packed by an older airlock)';
  return 'matched' in subject ? `about ${subject.matched}` : 'names no image: not checked against the image';
}
