// The seams between the vulnerability database, the version comparators and the matcher, so each can be
// built and tested alone: the matcher asks the database for the records of one package and asks the
// comparator of the package's ecosystem whether its version is inside a record's ranges.

/** An OSV record (schema 1.7), as far as matching needs it; parsed and bounded by osv/record.ts. */
export interface OsvRecord {
  readonly id: string;
  readonly modified: string;
  readonly published?: string;
  readonly withdrawn?: string;
  readonly aliases: readonly string[];
  readonly upstream: readonly string[];
  readonly summary?: string;
  readonly severity: readonly OsvSeverity[];
  readonly affected: readonly OsvAffected[];
  readonly databaseSpecific?: Readonly<Record<string, unknown>>;
}

export interface OsvSeverity {
  /** `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, … */
  readonly type: string;
  readonly score: string;
}

export interface OsvAffected {
  readonly package: { readonly ecosystem: string; readonly name: string; readonly purl?: string };
  readonly ranges: readonly OsvRange[];
  readonly versions: readonly string[];
  readonly severity: readonly OsvSeverity[];
  readonly ecosystemSpecific?: Readonly<Record<string, unknown>>;
  readonly databaseSpecific?: Readonly<Record<string, unknown>>;
}

export interface OsvRange {
  /** `SEMVER`, `ECOSYSTEM` or `GIT` (GIT ranges are not evaluated: the `versions` list stands for them). */
  readonly type: string;
  readonly events: readonly OsvEvent[];
}

export type OsvEvent =
  | { readonly introduced: string }
  | { readonly fixed: string }
  | { readonly last_affected: string }
  | { readonly limit: string };

/** The records one package's (ecosystem, name) has in a database. */
export interface AdvisorySource {
  recordsFor(ecosystem: string, name: string): OsvRecord[];
  /** The ecosystems the database holds records for (its manifest's), when known: a package of any other
   * ecosystem cannot be cleared by it and is not evaluated. */
  ecosystems?(): ReadonlySet<string>;
}

/** One ecosystem's version order: negative, zero or positive like Array.prototype.sort's comparator. */
export type VersionCompare = (a: string, b: string) => number;
