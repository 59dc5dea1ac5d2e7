// An OSV record (https://ossf.github.io/osv-schema/, schema 1.7) read from outside into the OsvRecord the
// matcher needs, checked field by field: what matching relies on must be there and be of the right
// shape (§ "id, modified", § "affected[].package", § "affected[].ranges[].events"), and every string and
// list is bounded, because records come in bulk from exports nobody reads by hand. A record that does
// not hold is E_INPUT_MALFORMED naming its origin (the file) and the field. Fields matching does not
// use (details, references, credits) are dropped; range types other than SEMVER, ECOSYSTEM and GIT are
// kept as written (the schema allows new ones; the matcher evaluates only what it knows).
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { OsvAffected, OsvEvent, OsvRange, OsvRecord, OsvSeverity } from '../types.ts';

/** Bounds on one record: far above what osv.dev publishes (the largest PyPI record lists 1,132 versions). */
export const OSV_LIMITS = {
  id: 256,
  time: 64,
  name: 1024,
  version: 1024,
  type: 64,
  score: 512,
  summary: 1024,
  aliases: 1000,
  affected: 10_000,
  ranges: 1000,
  events: 1000,
  versions: 100_000,
  severity: 100,
} as const;

const EVENT_KEYS: ReadonlySet<string> = new Set(['introduced', 'fixed', 'last_affected', 'limit']);

type Json = Record<string, unknown>;

class Reader {
  readonly origin: string;
  constructor(origin: string) {
    this.origin = origin;
  }

  fail(field: string, problem: string): never {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${bounded(this.origin)}: not an OSV record: ${bounded(field, 128)} ${problem}`,
      { details: { origin: bounded(this.origin), field: bounded(field, 128) } },
    );
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'is not an object');
    return value as Json;
  }

  string(value: unknown, field: string, max: number): string {
    if (typeof value !== 'string') this.fail(field, 'is not a string');
    if (value.length > max) this.fail(field, `is longer than ${max} characters (${value.length})`);
    return value;
  }

  required(value: unknown, field: string, max: number): string {
    const text = this.string(value, field, max);
    if (text === '') this.fail(field, 'is empty');
    return text;
  }

  optional(value: unknown, field: string, max: number): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, field, max);
  }

  time(value: unknown, field: string): string {
    const text = this.required(value, field, OSV_LIMITS.time);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(Date.parse(text)))
      this.fail(field, `is not an RFC 3339 time ('${bounded(text, 64)}')`);
    return text;
  }

  list(value: unknown, field: string, max: number): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(field, 'is not a list');
    if (value.length > max) this.fail(field, `has more than ${max} entries (${value.length})`);
    return value;
  }

  strings(value: unknown, field: string, max: number, maxLength: number): string[] {
    return this.list(value, field, max).map((v, i) => this.string(v, `${field}[${i}]`, maxLength));
  }

  extra(value: unknown, field: string): Readonly<Record<string, unknown>> | undefined {
    return value === undefined || value === null ? undefined : this.object(value, field);
  }
}

function severities(r: Reader, value: unknown, field: string): OsvSeverity[] {
  return r.list(value, field, OSV_LIMITS.severity).map((v, i) => {
    const s = r.object(v, `${field}[${i}]`);
    return {
      type: r.required(s.type, `${field}[${i}].type`, OSV_LIMITS.type),
      score: r.required(s.score, `${field}[${i}].score`, OSV_LIMITS.score),
    };
  });
}

function event(r: Reader, value: unknown, field: string): OsvEvent {
  const keys = Object.keys(r.object(value, field));
  if (keys.length !== 1) r.fail(field, `must have exactly one of introduced, fixed, last_affected, limit`);
  const key = keys[0] ?? '';
  if (!EVENT_KEYS.has(key)) r.fail(field, `has unknown event '${bounded(key, 64)}'`);
  const version = r.required((value as Json)[key], `${field}.${key}`, OSV_LIMITS.version);
  return { [key]: version } as OsvEvent;
}

function range(r: Reader, value: unknown, field: string): OsvRange {
  const o = r.object(value, field);
  const events = r.list(o.events, `${field}.events`, OSV_LIMITS.events);
  if (events.length === 0) r.fail(`${field}.events`, 'is empty');
  return {
    type: r.required(o.type, `${field}.type`, OSV_LIMITS.type),
    events: events.map((e, i) => event(r, e, `${field}.events[${i}]`)),
  };
}

function affected(r: Reader, value: unknown, field: string): OsvAffected {
  const o = r.object(value, field);
  const pkg = r.object(o.package, `${field}.package`);
  const purl = r.optional(pkg.purl, `${field}.package.purl`, OSV_LIMITS.name);
  const ecosystemSpecific = r.extra(o.ecosystem_specific, `${field}.ecosystem_specific`);
  const databaseSpecific = r.extra(o.database_specific, `${field}.database_specific`);
  return {
    package: {
      ecosystem: r.required(pkg.ecosystem, `${field}.package.ecosystem`, OSV_LIMITS.name),
      name: r.required(pkg.name, `${field}.package.name`, OSV_LIMITS.name),
      ...(purl !== undefined ? { purl } : {}),
    },
    ranges: r.list(o.ranges, `${field}.ranges`, OSV_LIMITS.ranges).map((x, i) => range(r, x, `${field}.ranges[${i}]`)),
    versions: r.strings(o.versions, `${field}.versions`, OSV_LIMITS.versions, OSV_LIMITS.version),
    severity: severities(r, o.severity, `${field}.severity`),
    ...(ecosystemSpecific ? { ecosystemSpecific } : {}),
    ...(databaseSpecific ? { databaseSpecific } : {}),
  };
}

/** The summary is for people: a long one is cut, not refused. */
function summaryOf(r: Reader, value: unknown): string | undefined {
  const text = r.optional(value, 'summary', Number.MAX_SAFE_INTEGER);
  return text === undefined ? undefined : bounded(text, OSV_LIMITS.summary);
}

/** Validates `json` (one parsed OSV record) into an OsvRecord; `origin` names where it came from in errors. */
export function parseOsvRecord(json: unknown, origin: string): OsvRecord {
  const r = new Reader(origin);
  const o = r.object(json, 'the record');
  const published = o.published === undefined || o.published === null ? undefined : r.time(o.published, 'published');
  const withdrawn = o.withdrawn === undefined || o.withdrawn === null ? undefined : r.time(o.withdrawn, 'withdrawn');
  const summary = summaryOf(r, o.summary);
  const databaseSpecific = r.extra(o.database_specific, 'database_specific');
  return {
    id: r.required(o.id, 'id', OSV_LIMITS.id),
    modified: r.time(o.modified, 'modified'),
    ...(published !== undefined ? { published } : {}),
    ...(withdrawn !== undefined ? { withdrawn } : {}),
    aliases: r.strings(o.aliases, 'aliases', OSV_LIMITS.aliases, OSV_LIMITS.id),
    upstream: r.strings(o.upstream, 'upstream', OSV_LIMITS.aliases, OSV_LIMITS.id),
    ...(summary !== undefined ? { summary } : {}),
    severity: severities(r, o.severity, 'severity'),
    affected: r.list(o.affected, 'affected', OSV_LIMITS.affected).map((a, i) => affected(r, a, `affected[${i}]`)),
    ...(databaseSpecific ? { databaseSpecific } : {}),
  };
}
