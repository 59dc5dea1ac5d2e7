// What the SPDX and CycloneDX modules share: the context a document is written with (time, ids and the
// tool version passed in), the caps on what a document read may hold, and the bounded, coded refusal of
// one that does not fit them.
import { createHash } from 'node:crypto';
import { PackageURL } from 'packageurl-js';
import { AirlockError } from '../../errors.ts';
import { bounded, boundedList } from '../../text.ts';
import { distroFromPurls, packageFromPurl, type PurlContext } from '../identify.ts';
import type { Catalogue, CataloguedPackage, Distro, PackageType } from '../package.ts';

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

export function malformed(source: string, what: string, cause?: unknown): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${bounded(source)}: ${what}`, { cause });
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

/** A list field of objects (absent → empty), refused when an entry is not an object. */
export function objectList(object: JsonObject, key: string, source: string, max: number): JsonObject[] {
  return list(object, key, source, max).map((entry, i) => {
    if (!isObject(entry)) throw malformed(source, `${bounded(key, 64)}[${i}] is not an object`);
    return entry;
  });
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

function purlKind(purl: string | undefined): string {
  if (purl === undefined) return 'no purl';
  const type = /^pkg:([A-Za-z0-9.+-]+)\//.exec(purl)?.[1];
  return type === undefined ? 'unreadable purl' : `pkg:${type.toLowerCase()}`;
}

/**
 * Collects the packages a document lists by purl. One it cannot identify (no purl, or a kind airlock does
 * not catalogue) is never dropped: it is listed in the catalogue's `unidentified` and counted in a note,
 * so a scan sees it as not evaluable.
 */
export class CatalogueCollector {
  readonly packages: CataloguedPackage[] = [];
  private readonly skipped = new Map<string, number>();
  private readonly unidentified: string[] = [];

  /** Adds the package the purl names; false (counted, listed as unidentified) when it names none airlock knows. */
  add(purl: string | undefined, context: PurlContext): boolean {
    const read = purl === undefined ? undefined : packageFromPurl(purl, context);
    if (read) this.packages.push(read);
    else {
      this.skipped.set(purlKind(purl), (this.skipped.get(purlKind(purl)) ?? 0) + 1);
      const name = bounded(context.name ?? 'unnamed', 128);
      this.unidentified.push(`${name} (${purl === undefined ? 'no purl' : bounded(purl, 256)})`);
    }
    return read !== undefined;
  }

  /** The distro the distro packages' purls name. */
  purlDistro(): Distro | undefined {
    return distroFromPurls(this.packages.map((p) => p.purl));
  }

  catalogue(subject: Catalogue['subject'], distro: Distro | undefined): Catalogue {
    const total = [...this.skipped.values()].reduce((a, b) => a + b, 0);
    const kinds = [...this.skipped].map(([kind, n]) => `${bounded(kind, 64)}: ${n}`).join(', ');
    const notes =
      total === 0
        ? []
        : [
            `${total} package(s) airlock cannot identify (${kinds}) are not evaluable: ` +
              boundedList(this.unidentified),
          ];
    return {
      ...(subject ? { subject } : {}),
      ...(distro ? { distro } : {}),
      packages: this.packages,
      notes,
      ...(this.unidentified.length > 0 ? { unidentified: this.unidentified } : {}),
    };
  }
}

/** Whether a purl names an image (purl-spec `pkg:oci/…`), which is a document's subject, not a package. */
export function isImagePurl(purl: string | undefined): boolean {
  return purl !== undefined && /^pkg:oci\//i.test(purl);
}

/** The image's purl (purl-spec oci: the repository's last segment, the digest, the tag), if its digest is known. */
export function ociPurl(subject: Catalogue['subject']): string | undefined {
  if (!subject?.digest) return undefined;
  const withoutTransport = subject.name.replace(/^(oci|oci-archive|docker-archive|docker|dir):(\/\/)?/, '');
  const withoutDigest = withoutTransport.replace(/@sha256:[0-9a-f]+$/i, '');
  const last = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  const name = (colon > 0 ? last.slice(0, colon) : last).toLowerCase() || 'image';
  const qualifiers = colon > 0 ? { tag: last.slice(colon + 1) } : undefined;
  return new PackageURL('oci', undefined, name, subject.digest, qualifiers, undefined).toString();
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

/** The image a document describes: its name, and the first digest found in a `sha256:…` value, a bare SHA-256
 * checksum, or a `pkg:oci/…@sha256…` purl. */
export function subjectFrom(
  name: string | undefined,
  evidence: ReadonlyArray<string | undefined>,
): Catalogue['subject'] {
  for (const value of evidence) {
    const hex =
      /^(?:sha256:)?([0-9a-f]{64})$/i.exec(value ?? '')?.[1] ??
      /^pkg:oci\/[^@]*@sha256(?::|%3A)([0-9a-f]{64})/i.exec(value ?? '')?.[1];
    if (hex) return { name: name ?? 'unknown', digest: `sha256:${hex.toLowerCase()}` };
  }
  return { name: name ?? 'unknown' };
}
