// Reviewed exceptions to a scan (`airlock scan --ignore FILE`): findings someone has looked at and
// accepted for a while, each with a reason and an expiry date. An entry stops applying once it expires
// and is then reported as expired, so an exception cannot outlive its review silently.
//
// The file is YAML or JSON (YAML 1.2 reads JSON as it is): a list of entries, or `{ignore: [...]}`.
//   - id: CVE-2026-1234          # the finding's id or any of its aliases (its CVE, when it has one)
//     package: { name: openssl, version: 3.0.11-1 }   # optional; version optional
//     reason: not reachable: we never parse PKCS#12   # required
//     expires: 2027-01-31        # required; the entry applies through that day (UTC)
// `expires` is a date (YYYY-MM-DD, applying through the end of that day, UTC) or an RFC 3339 instant.
// Anything else, a missing field or an unknown one, is E_INPUT_MALFORMED naming the entry and field.
import { parseDocument } from 'yaml';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import type { Finding } from './finding.ts';

export interface IgnoreEntry {
  readonly id: string;
  readonly package?: { readonly name: string; readonly version?: string };
  readonly reason: string;
  /** As written in the file. */
  readonly expires: string;
  /** The first instant at which the entry no longer applies. */
  readonly expiresAt: Date;
}

export interface IgnoreResult {
  readonly kept: Finding[];
  readonly ignored: Array<{ readonly finding: Finding; readonly entry: IgnoreEntry }>;
  readonly expired: IgnoreEntry[];
}

/** A file of exceptions is read by people; more than this is not a reviewed list. */
export const MAX_IGNORE_ENTRIES = 10_000;

const ENTRY_KEYS = new Set(['id', 'package', 'reason', 'expires']);
const PACKAGE_KEYS = new Set(['name', 'version']);
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function malformed(source: string, where: string, what: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: ${where}: ${what}`);
}

/** The instant an `expires` value stops applying, or undefined when it is no date. */
export function expiryInstant(text: string): Date | undefined {
  const day = DAY.exec(text);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const start = new Date(Date.UTC(y, m - 1, d));
    // Date.UTC rolls 2026-02-30 over to March: such a date is not one.
    if (start.getUTCFullYear() !== y || start.getUTCMonth() !== m - 1 || start.getUTCDate() !== d) return undefined;
    return new Date(start.getTime() + 24 * 3600 * 1000);
  }
  const at = INSTANT.test(text) ? new Date(text) : undefined;
  return at && !Number.isNaN(at.getTime()) ? at : undefined;
}

function text(value: unknown, source: string, where: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw malformed(source, where, 'must be a non-empty string');
  if (value.length > max) throw malformed(source, where, `is longer than ${max} characters`);
  return value;
}

function checkKeys(value: object, allowed: ReadonlySet<string>, source: string, where: string): void {
  const unknown = Object.keys(value).find((k) => !allowed.has(k));
  if (unknown !== undefined)
    throw malformed(source, `${where}.${bounded(unknown, 40)}`, 'is not a field airlock knows');
}

function parsePackage(value: unknown, source: string, where: string): IgnoreEntry['package'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed(source, where, 'must be a mapping with name (and optionally version)');
  checkKeys(value, PACKAGE_KEYS, source, where);
  const p = value as { name?: unknown; version?: unknown };
  const name = text(p.name, source, `${where}.name`, 512);
  return p.version === undefined ? { name } : { name, version: text(p.version, source, `${where}.version`, 256) };
}

function parseEntry(value: unknown, source: string, where: string): IgnoreEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed(source, where, 'must be a mapping with id, reason and expires');
  checkKeys(value, ENTRY_KEYS, source, where);
  const e = value as Record<string, unknown>;
  const id = text(e.id, source, `${where}.id`, 256);
  const reason = text(e.reason, source, `${where}.reason`, 2048);
  const raw = e.expires instanceof Date ? e.expires.toISOString() : e.expires;
  const expires = text(raw, source, `${where}.expires`, 64);
  const expiresAt = expiryInstant(expires);
  if (!expiresAt) throw malformed(source, `${where}.expires`, `'${bounded(expires, 64)}' is not a date (YYYY-MM-DD)`);
  const pkg = e.package === undefined ? undefined : parsePackage(e.package, source, `${where}.package`);
  return { id, ...(pkg ? { package: pkg } : {}), reason, expires, expiresAt };
}

/** The entries of an exceptions file's text (YAML or JSON); `source` names it in messages. */
export function parseIgnoreFile(content: string, source: string): IgnoreEntry[] {
  const doc = parseDocument(content, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) throw malformed(source, 'not YAML or JSON', bounded(first.message, 200));
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw malformed(source, 'unreadable', bounded(err instanceof Error ? err.message : String(err), 200));
  }
  const list = Array.isArray(value) ? value : (value as { ignore?: unknown } | null)?.ignore;
  if (!Array.isArray(list)) throw malformed(source, 'ignore', 'must be a list of entries (or {ignore: [...]})');
  if (list.length > MAX_IGNORE_ENTRIES)
    throw malformed(source, 'ignore', `has more than ${MAX_IGNORE_ENTRIES} entries`);
  return list.map((entry, i) => parseEntry(entry, source, `ignore[${i}]`));
}

const CVE = /^CVE-\d{4}-\d+$/;

/**
 * Whether `entry` covers `finding`: it names the finding's id or an alias, and every CVE id the finding
 * carries is the entry's — a shared non-CVE alias (a DSA fixing several CVEs) never suppresses a finding
 * whose CVE the entry does not name, and a finding with two CVEs is covered by no single entry.
 */
function applies(entry: IgnoreEntry, finding: Finding): boolean {
  const ids = [finding.id, ...finding.aliases];
  if (!ids.includes(entry.id)) return false;
  if (!ids.filter((id) => CVE.test(id)).every((cve) => cve === entry.id)) return false;
  if (!entry.package) return true;
  if (entry.package.name !== finding.package.name) return false;
  return entry.package.version === undefined || entry.package.version === finding.package.version;
}

/** Findings an unexpired entry covers move to `ignored`; expired entries apply to nothing and are listed. */
export function applyIgnores(findings: readonly Finding[], entries: readonly IgnoreEntry[], now: Date): IgnoreResult {
  const live = entries.filter((e) => now.getTime() < e.expiresAt.getTime());
  const expired = entries.filter((e) => now.getTime() >= e.expiresAt.getTime());
  const kept: Finding[] = [];
  const ignored: Array<{ finding: Finding; entry: IgnoreEntry }> = [];
  for (const finding of findings) {
    const entry = live.find((e) => applies(e, finding));
    if (entry) ignored.push({ finding, entry });
    else kept.push(finding);
  }
  return { kept, ignored, expired };
}
