// What the SPDX and CycloneDX modules share: the context a document is written with (time, ids and the
// tool version passed in), the caps on what a document read may hold, and the bounded, coded refusal of
// one that does not fit them.
import { createHash } from 'node:crypto';
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { CataloguedPackage, PackageType } from '../package.ts';

export interface FormatContext {
  readonly now: Date;
  /** Makes the document unique: SPDX documentNamespace, CycloneDX serialNumber. */
  readonly uuid: string;
  readonly toolVersion: string;
}

/** Caps on a document read: the largest real image SBOMs are tens of MiB and tens of thousands of packages. */
export const SBOM_LIMITS = {
  bytes: 256 * 1024 * 1024,
  packages: 250_000,
  /** Relationships, files, nested components: anything else a document lists. */
  entries: 2_000_000,
  licensesPerPackage: 1_000,
  /** One string field (a name, a purl, a licence text). */
  field: 64 * 1024,
  depth: 32,
} as const;

export function malformed(source: string, what: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: ${what}`);
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string field, or undefined when absent or not a string; refused when longer than the cap. */
export function field(object: JsonObject, key: string, source: string): string | undefined {
  const value = object[key];
  if (typeof value !== 'string') return undefined;
  if (value.length > SBOM_LIMITS.field)
    throw malformed(source, `a ${bounded(key, 64)} is longer than ${SBOM_LIMITS.field} characters`);
  return value;
}

/** An array field (absent → empty), refused when it is not an array or longer than `max`. */
export function list(object: JsonObject, key: string, source: string, max: number): readonly unknown[] {
  const value = object[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw malformed(source, `${bounded(key, 64)} is not a list`);
  if (value.length > max) throw malformed(source, `${bounded(key, 64)} has more than ${max} entries`);
  return value;
}

/** A short stable id for a package in a document: its purl and where it was found, hashed. */
export function packageKey(p: CataloguedPackage): string {
  return createHash('sha256').update(`${p.purl}\n${p.foundIn}`).digest('hex').slice(0, 16);
}

/** Unique ids for the packages, in order: the key, then `-2`, `-3`… for a package listed twice. */
export function uniqueKeys(packages: readonly CataloguedPackage[]): string[] {
  const seen = new Map<string, number>();
  return packages.map((p) => {
    const key = packageKey(p);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n === 1 ? key : `${key}-${n}`;
  });
}

/** syft's package type names (SPDXIDs, the table). */
export const SYFT_TYPES: Readonly<Record<PackageType, string>> = {
  deb: 'deb',
  apk: 'apk',
  rpm: 'rpm',
  npm: 'npm',
  pypi: 'python',
  golang: 'go-module',
  maven: 'java-archive',
};

/** A count of skipped packages by kind, as one note: `3 packages not read (pkg:gem: 2, no purl: 1)`. */
export function skippedNote(skipped: ReadonlyMap<string, number>): string[] {
  if (skipped.size === 0) return [];
  const total = [...skipped.values()].reduce((a, b) => a + b, 0);
  const kinds = [...skipped].map(([kind, n]) => `${bounded(kind, 64)}: ${n}`).join(', ');
  return [`${total} package${total === 1 ? '' : 's'} of kinds airlock does not catalogue not read (${kinds})`];
}

/** The OCI image's purl name and tag from the reference it was catalogued as (purl-spec's oci type). */
export function ociNameAndTag(reference: string): { name: string; tag?: string } {
  const withoutTransport = reference.replace(/^(oci|oci-archive|docker-archive|docker|dir):(\/\/)?/, '');
  const withoutDigest = withoutTransport.replace(/@sha256:[0-9a-f]+$/i, '');
  const last = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  const name = (colon > 0 ? last.slice(0, colon) : last).toLowerCase() || 'image';
  return colon > 0 ? { name, tag: last.slice(colon + 1) } : { name };
}

/** The files a package manager's own database lives in, preferred among the evidence syft lists. */
const DATABASE_FILE: Readonly<Record<string, RegExp>> = {
  deb: /\/(status|status\.d\/[^/]+)$/,
  apk: /\/installed$/,
  rpm: /\/(Packages|Packages\.db|rpmdb\.sqlite)$/,
  pypi: /\/(METADATA|PKG-INFO)$/,
  npm: /\/package\.json$/,
};

/** Of the paths an SBOM gives as a package's evidence, the one it was found in: its database file, else the first. */
export function pickFoundIn(paths: readonly string[], purl: string | undefined): string {
  const type = /^pkg:([a-z]+)\//.exec(purl ?? '')?.[1];
  const database = type === undefined ? undefined : DATABASE_FILE[type];
  return (database && paths.find((p) => database.test(p))) ?? paths[0] ?? '';
}
