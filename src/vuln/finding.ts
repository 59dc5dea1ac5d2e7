// One vulnerability in one package, as matching found it and every later step (exceptions, the gate, the
// report formats) reads it.
import type { PackageType } from '../sbom/package.ts';
import type { FindingSeverity } from './severity.ts';

/** The package a finding is about, as the SBOM named it. */
export interface FindingPackage {
  readonly name: string;
  readonly version: string;
  readonly ecosystem: string;
  readonly purl: string;
  readonly type: PackageType;
  readonly foundIn: string;
}

export interface Finding {
  /** The primary id: the lowest CVE id among the merged ids when there is one, else the lowest id. */
  readonly id: string;
  /** Every other id of the vulnerability: the merged records' ids, aliases and upstream ids. */
  readonly aliases: readonly string[];
  /** The ids of the OSV records that matched (sorted). */
  readonly recordIds: readonly string[];
  readonly package: FindingPackage;
  readonly severity: FindingSeverity;
  /** Which record and which vector or field the severity came from. */
  readonly severitySource?: string;
  /** The CVSS base score, when the severity came from a vector. */
  readonly score?: number;
  /** Versions that fix it, from the matched ranges' `fixed` events (empty: no fix known). */
  readonly fixedVersions: readonly string[];
  /** The record's summary, bounded. */
  readonly summary?: string;
  /** Set when no record could be evaluated for this package's version: why (bounded). Counted as failing. */
  readonly unevaluable?: string;
}
