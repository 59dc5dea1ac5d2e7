// Severities of vulnerability findings, lowest first, as grype and OSV name them; one order for every
// gate that compares them (pack's --fail-on, a policy's maxSeverity).
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';

export const SEVERITIES = ['negligible', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A severity by name (any case), or undefined when it is none airlock knows. */
export function severityNamed(text: string): Severity | undefined {
  const s = text.toLowerCase();
  return (SEVERITIES as readonly string[]).includes(s) ? (s as Severity) : undefined;
}

export function parseSeverity(text: string, what = '--fail-on'): Severity {
  const severity = severityNamed(text);
  if (!severity)
    throw new AirlockError('E_USAGE', `${what} takes ${SEVERITIES.slice(1).join('|')}, got '${bounded(text, 40)}'`);
  return severity;
}

/** Whether `severity` is above `limit` in the order above. */
export function severityAbove(severity: Severity, limit: Severity): boolean {
  return SEVERITIES.indexOf(severity) > SEVERITIES.indexOf(limit);
}
