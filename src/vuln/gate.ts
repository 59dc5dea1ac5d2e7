// The scan's gate: which findings stop an image (`airlock scan --fail-on`, `pack --scan`). Fail closed:
//   - a finding at or above `failOn` fails;
//   - a finding of unknown severity fails, unless `unknownSeverity: 'warn'`, which lists it as a warning
//     (the report still counts it);
//   - an unevaluable finding (a record airlock could not evaluate for the package's version) always
//     fails, with or without `failOn` and whatever `unknownSeverity` says: airlock cannot say the image
//     is not affected, and the only way past it is a reviewed exception (ignore.ts) naming it.
//   - anything not evaluated (a package with no OSV ecosystem, an ecosystem the database holds no
//     records for, a file a cataloguer could not read, an SBOM entry without a usable purl) always fails,
//     whatever `failOn` and `unknownSeverity` say, and no exception waives it: nothing was matched.
// Without `failOn` there is no severity threshold: only unevaluable findings (and, unless warned about,
// unknown ones) fail.
import { AirlockError } from '../errors.ts';
import { type Severity, severityAbove } from '../policy/severity.ts';
import { bounded, boundedList } from '../text.ts';
import type { Finding } from './finding.ts';

export interface GateOptions {
  readonly failOn?: Severity;
  readonly unknownSeverity: 'fail' | 'warn';
}

/** Something the scan could not evaluate, and why: it fails the gate. */
export interface NotEvaluatedItem {
  readonly what: string;
  readonly why: string;
}

export interface GateResult {
  readonly pass: boolean;
  readonly failing: Finding[];
  /** What could not be evaluated: each one fails the gate. */
  readonly notEvaluated: readonly NotEvaluatedItem[];
  /** Unknown-severity findings let through by `unknownSeverity: 'warn'`. */
  readonly warnings: Finding[];
  readonly unknownCount: number;
  readonly unevaluableCount: number;
}

/** Whether one finding fails the gate (the rule above, without what was not evaluated). */
export function failsGate(f: Pick<Finding, 'severity' | 'unevaluable'>, options: GateOptions): boolean {
  if (f.unevaluable !== undefined) return true;
  if (f.severity === 'unknown') return options.unknownSeverity === 'fail';
  return options.failOn !== undefined && !severityAbove(options.failOn, f.severity);
}

export function evaluateGate(
  findings: readonly Finding[],
  options: GateOptions,
  notEvaluated: readonly NotEvaluatedItem[] = [],
): GateResult {
  const failing = findings.filter((f) => failsGate(f, options));
  const warnings = findings.filter((f) => f.severity === 'unknown' && !failsGate(f, options));
  return {
    pass: failing.length === 0 && notEvaluated.length === 0,
    failing,
    notEvaluated,
    warnings,
    unknownCount: findings.filter((f) => f.severity === 'unknown').length,
    unevaluableCount: findings.filter((f) => f.unevaluable !== undefined).length,
  };
}

/** One failing finding in a message. */
export function describeGateFinding(f: Finding): string {
  const why = f.unevaluable !== undefined ? `unevaluable: ${f.unevaluable}` : f.severity;
  return `${bounded(f.id, 80)} (${why}) in ${bounded(f.package.name, 120)}@${bounded(f.package.version, 80)}`;
}

/** One not-evaluated item in a message. */
export function describeNotEvaluated(n: NotEvaluatedItem): string {
  return `not evaluated: ${bounded(n.what, 200)} (${bounded(n.why, 200)})`;
}

/** E_GATE listing what failed (bounded), or nothing when the gate passed. */
export function enforceScanGate(result: GateResult, options: GateOptions, action: string): void {
  if (result.pass) return;
  const lines = [...result.notEvaluated.map(describeNotEvaluated), ...result.failing.map(describeGateFinding)];
  const threshold = options.failOn ? `at or above ${options.failOn}, ` : '';
  const rule = `${threshold}unknown severity, unevaluable, or not evaluated`;
  throw new AirlockError(
    'E_GATE',
    `${lines.length} finding(s) fail the gate (${rule}): ${action}\n  ` + boundedList(lines, 20, '\n  '),
    { details: { failOn: options.failOn ?? null, findings: lines.slice(0, 100), total: lines.length } },
  );
}
