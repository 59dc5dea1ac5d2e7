// What a vulnerability attestation says, for a policy's `maxSeverity`: cosign's vuln/v1 predicate
// (`scanner.result` holds the scanner's own report) with grype's JSON in it — or grype's JSON as the
// predicate itself. A finding with no severity airlock knows cannot be judged and counts as over the limit.
import { type Severity, severityAbove, severityNamed } from '../policy/severity.ts';
import { bounded } from '../text.ts';

export interface VulnFinding {
  readonly id: string;
  readonly severity: Severity | 'unknown';
}

function matchesOf(predicate: unknown): unknown[] | undefined {
  const p = predicate as { scanner?: { result?: { matches?: unknown } }; matches?: unknown } | null;
  const matches = p?.scanner?.result?.matches ?? p?.matches;
  return Array.isArray(matches) ? matches : undefined;
}

/** The findings of a vulnerability predicate, or undefined when it holds no report airlock can read. */
export function vulnFindings(predicate: unknown): VulnFinding[] | undefined {
  const matches = matchesOf(predicate);
  if (!matches) return undefined;
  return matches.map((m) => {
    const v = (m as { vulnerability?: { id?: unknown; severity?: unknown } } | null)?.vulnerability;
    const severity = typeof v?.severity === 'string' ? severityNamed(v.severity) : undefined;
    return { id: bounded(typeof v?.id === 'string' ? v.id : '(no id)', 80), severity: severity ?? 'unknown' };
  });
}

/** Findings over `max` (unknown ones always); an unreadable predicate is one line saying so. */
export function overSeverity(predicate: unknown, max: Severity): string[] | undefined {
  const findings = vulnFindings(predicate);
  if (!findings)
    return ['the attestation holds no vulnerability report airlock can read (cosign vuln/v1 with grype JSON)'];
  const over = findings.filter((f) => f.severity === 'unknown' || severityAbove(f.severity, max));
  return over.length === 0
    ? undefined
    : over.map((f) => `${f.id} (${f.severity === 'unknown' ? 'severity unknown' : f.severity})`);
}
