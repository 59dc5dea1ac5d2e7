// SBOMs (SPDX or CycloneDX JSON, as syft writes them) and vulnerability scans (grype JSON) attached to
// packed images, and the gate that keeps findings at or above a severity from crossing the gap.
import { AirlockError } from '../errors.ts';

export const SEVERITIES = ['negligible', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface SbomSummary {
  readonly format: 'spdx' | 'cyclonedx';
  readonly predicateType: string;
  readonly packages: number;
}

export function summariseSbom(doc: unknown, source: string): SbomSummary {
  const d = doc as { spdxVersion?: unknown; packages?: unknown[]; bomFormat?: unknown; components?: unknown[] };
  if (typeof d?.spdxVersion === 'string') return { format: 'spdx', predicateType: 'https://spdx.dev/Document', packages: Array.isArray(d.packages) ? d.packages.length : 0 };
  if (d?.bomFormat === 'CycloneDX') return { format: 'cyclonedx', predicateType: 'https://cyclonedx.org/bom', packages: Array.isArray(d.components) ? d.components.length : 0 };
  throw new AirlockError('E_INPUT_MALFORMED', `${source}: not an SPDX or CycloneDX JSON SBOM`);
}

export interface Finding {
  readonly id: string;
  readonly severity: Severity | 'unknown';
  readonly package: string;
}

export interface ScanSummary {
  readonly counts: Readonly<Record<string, number>>;
  readonly findings: readonly Finding[];
}

export function parseSeverity(text: string): Severity {
  const s = text.toLowerCase();
  if (!(SEVERITIES as readonly string[]).includes(s)) throw new AirlockError('E_USAGE', `--fail-on takes ${SEVERITIES.slice(1).join('|')}, got '${text}'`);
  return s as Severity;
}

/** grype's JSON output: matches[].vulnerability.{id,severity} with matches[].artifact.{name,version}. */
export function summariseGrypeScan(doc: unknown, source: string): ScanSummary {
  const matches = (doc as { matches?: unknown })?.matches;
  if (!Array.isArray(matches)) throw new AirlockError('E_INPUT_MALFORMED', `${source}: not a grype JSON report (no matches[])`);
  const findings: Finding[] = matches.map((m) => {
    const v = (m as { vulnerability?: { id?: string; severity?: string } }).vulnerability ?? {};
    const a = (m as { artifact?: { name?: string; version?: string } }).artifact ?? {};
    const sev = (v.severity ?? 'unknown').toLowerCase();
    return { id: v.id ?? '?', severity: (SEVERITIES as readonly string[]).includes(sev) ? (sev as Severity) : 'unknown', package: `${a.name ?? '?'}@${a.version ?? '?'}` };
  });
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return { counts, findings };
}

/** Findings at or above `failOn`; unknown severities count as failing (cannot evaluate = deny). */
export function gateFindings(scan: ScanSummary, failOn: Severity): Finding[] {
  const threshold = SEVERITIES.indexOf(failOn);
  return scan.findings.filter((f) => f.severity === 'unknown' || SEVERITIES.indexOf(f.severity) >= threshold);
}
