// A finding's severity, on the one scale every airlock gate uses (src/policy/severity.ts), from the OSV
// records merged into it:
//   1. CVSS vectors (CVSS_V2, CVSS_V3 (3.0 and 3.1), CVSS_V4), in the records' and their matched affected
//      entries' `severity` lists, scored with ae-cvss-calculator (base score) and rated as grype rates
//      them (grype/db/v6/severity.go): 0 → negligible (grype's name for CVSS "none"), < 4 low, < 7 medium,
//      < 9 high, else critical; CVSS v2 stops at high. The highest rating wins (then the highest score).
//   2. Otherwise the records' own words, the highest of them:
//      - `database_specific.severity` as GHSA writes it: CRITICAL, HIGH, MODERATE → medium, LOW;
//      - the `Ubuntu` severity type (its priority): negligible, low, medium, high, critical;
//      - Debian's `ecosystem_specific.urgency` on an affected entry: unimportant → negligible, low, medium,
//        high (a trailing `*` or `**` marks Debian's uncertainty and is dropped); `not yet assigned` and
//        `end-of-life` say nothing about severity and are not used.
//   3. Otherwise `unknown`, which gates count as failing unless told otherwise.
// A vector the calculator cannot read (or whose base metrics are incomplete) is skipped, not guessed.
import cvss from 'ae-cvss-calculator';
import { BoundedMap } from '../bounded-map.ts';
import { SEVERITIES, type Severity } from '../policy/severity.ts';
import { bounded } from '../text.ts';
import type { OsvAffected, OsvRecord, OsvSeverity } from './types.ts';

export type FindingSeverity = Severity | 'unknown';

export interface SeverityRating {
  readonly severity: FindingSeverity;
  /** Where it came from: `GHSA-…: CVSS_V3 CVSS:3.1/AV:N/… (9.8)`, `DSA-…: Debian urgency high`; absent for unknown. */
  readonly source?: string;
  /** The CVSS base score, when the severity came from a vector. */
  readonly score?: number;
}

/** A record merged into a finding, with the affected entries that matched the package. */
export interface RatedRecord {
  readonly record: OsvRecord;
  readonly affected: readonly OsvAffected[];
}

interface Candidate {
  readonly severity: Severity;
  readonly score: number;
  readonly source: string;
}

type Scored = { readonly score: number; readonly version: '2.0' | '3.x' | '4.0' };

/**
 * Scores already computed, by vector: a v4.0 score costs the calculator about 0.4 ms, and a database
 * repeats the same few thousand vectors across its records. `false`: the calculator cannot read it.
 */
const SCORES = new BoundedMap<string, Scored | false>(16_384);

/** A CVSS vector's base score, or undefined when the calculator cannot read it or its base is incomplete. */
export function cvssBaseScore(vector: string): Scored | undefined {
  const v = vector.trim();
  // The longest CVSS 4.0 vector with every metric is under 300 characters; longer is not one.
  if (v.length > 512) return undefined;
  let scored = SCORES.get(v);
  if (scored === undefined) {
    scored = scoreVector(v) ?? false;
    SCORES.set(v, scored);
  }
  return scored === false ? undefined : scored;
}

function scoreVector(v: string): Scored | undefined {
  try {
    const parsed = v.startsWith('CVSS:4.0/')
      ? { calc: new cvss.Cvss4P0(v), version: '4.0' as const }
      : v.startsWith('CVSS:3.1/')
        ? { calc: new cvss.Cvss3P1(v), version: '3.x' as const }
        : v.startsWith('CVSS:3.0/')
          ? { calc: new cvss.Cvss3P0(v), version: '3.x' as const }
          : /^\(?AV:[LAN]\//.test(v)
            ? { calc: new cvss.Cvss2(v.replace(/^\((.*)\)$/, '$1')), version: '2.0' as const }
            : undefined;
    if (!parsed || !parsed.calc.isBaseFullyDefined()) return undefined;
    const score = parsed.calc.calculateScores().base;
    return typeof score === 'number' && score >= 0 && score <= 10 ? { score, version: parsed.version } : undefined;
  } catch {
    return undefined;
  }
}

/** A CVSS base score rated as grype rates it; v2 has no critical. */
export function rateCvss(score: number, version: '2.0' | '3.x' | '4.0'): Severity {
  if (score === 0) return 'negligible';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9 || version === '2.0') return 'high';
  return 'critical';
}

function cvssCandidates(id: string, entries: readonly OsvSeverity[]): Candidate[] {
  return entries.flatMap((e) => {
    if (!e.type.startsWith('CVSS_')) return [];
    const scored = cvssBaseScore(e.score);
    if (!scored) return [];
    const source = `${bounded(id, 80)}: ${bounded(e.type, 16)} ${bounded(e.score, 160)} (${scored.score})`;
    return [{ severity: rateCvss(scored.score, scored.version), score: scored.score, source }];
  });
}

const GHSA_WORDS: Readonly<Record<string, Severity>> = {
  critical: 'critical',
  high: 'high',
  moderate: 'medium',
  low: 'low',
};
const UBUNTU_WORDS: Readonly<Record<string, Severity>> = {
  negligible: 'negligible',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};
const DEBIAN_WORDS: Readonly<Record<string, Severity>> = {
  unimportant: 'negligible',
  low: 'low',
  medium: 'medium',
  high: 'high',
};

function word(table: Readonly<Record<string, Severity>>, value: unknown): Severity | undefined {
  if (typeof value !== 'string') return undefined;
  const key = value.trim().replace(/\*+$/, '').toLowerCase();
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function fieldCandidates({ record, affected }: RatedRecord): Candidate[] {
  const id = bounded(record.id, 80);
  const out: Candidate[] = [];
  const add = (severity: Severity | undefined, what: string, value: unknown) => {
    if (severity) out.push({ severity, score: -1, source: `${id}: ${what} ${bounded(String(value), 40)}` });
  };
  const ghsa = record.databaseSpecific?.severity;
  add(word(GHSA_WORDS, ghsa), 'database_specific.severity', ghsa);
  for (const e of [...record.severity, ...affected.flatMap((a) => a.severity)])
    if (e.type === 'Ubuntu') add(word(UBUNTU_WORDS, e.score), 'Ubuntu priority', e.score);
  for (const a of affected) {
    const urgency = a.ecosystemSpecific?.urgency;
    add(word(DEBIAN_WORDS, urgency), 'Debian urgency', urgency);
  }
  return out;
}

function highest(candidates: readonly Candidate[]): Candidate | undefined {
  const rank = (c: Candidate) => SEVERITIES.indexOf(c.severity);
  return candidates.reduce<Candidate | undefined>(
    (best, c) => (!best || rank(c) > rank(best) || (rank(c) === rank(best) && c.score > best.score) ? c : best),
    undefined,
  );
}

/** The severity of a finding made of `records`: CVSS first, then the records' own fields, else unknown. */
export function rateFinding(records: readonly RatedRecord[]): SeverityRating {
  const byCvss = highest(
    records.flatMap(({ record, affected }) => [
      ...cvssCandidates(record.id, record.severity),
      ...affected.flatMap((a) => cvssCandidates(record.id, a.severity)),
    ]),
  );
  if (byCvss) return { severity: byCvss.severity, source: byCvss.source, score: byCvss.score };
  const byField = highest(records.flatMap(fieldCandidates));
  return byField ? { severity: byField.severity, source: byField.source } : { severity: 'unknown' };
}
