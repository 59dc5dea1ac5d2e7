// SPDX 2.3 JSON (spdx-spec v2.3, chapters 6 document creation, 7 package, 10 other licensing, 11
// relationships), written as `syft -o spdx-json` writes it — the seed's format — and read back, ours and
// syft's. Pure: the time, the document's uuid and the tool version are passed in.
//
// Written as syft does: a package for the image (CONTAINER; its manifest digest as versionInfo, a SHA256
// checksum and a `pkg:oci/…` purl), one package per catalogued package (`SPDXRef-Package-<type>-<name>-<id>`,
// purl as a PACKAGE-MANAGER external ref, `sourceInfo` naming the file it was found in), the image CONTAINS
// each, the document DESCRIBES the image. Not as syft does: no `Organization` creator (airlock is not one),
// no CPEs, no files section, and licences that are not SPDX expressions become `LicenseRef-` identifiers
// whose text (the licence as recorded) is in hasExtractedLicensingInfos, so every licenseDeclared is valid.
import type { Catalogue, CataloguedPackage, Distro } from '../package.ts';
import {
  field,
  type FormatContext,
  list,
  type JsonObject,
  objectList,
  malformed,
  ociPurl,
  pickFoundIn,
  SBOM_LIMITS,
  subjectFrom,
  CatalogueCollector,
  isImagePurl,
  SYFT_TYPES,
  uniqueKeys,
} from './common.ts';
import { joinExpressions, licenseRefFor, spdxExpression, splitExpression } from './licenses.ts';

const NOASSERTION = 'NOASSERTION';

/** syft's `sourceInfo` wording per package type (syft/format/internal/spdxutil/helpers/source_info.go). */
const SOURCE_INFO: Readonly<Record<CataloguedPackage['type'], string>> = {
  deb: 'acquired package info from DPKG DB',
  apk: 'acquired package info from APK DB',
  rpm: 'acquired package info from RPM DB',
  npm: 'acquired package info from installed node module manifest file',
  pypi: 'acquired package info from installed python package manifest file',
  golang: 'acquired package info from go module information',
  maven: 'acquired package info from installed java archive',
};

interface ExtractedLicense {
  readonly licenseId: string;
  readonly extractedText: string;
  readonly name: string;
}

/** SPDX 7.2: `SPDXRef-` then letters, digits, `.` and `-` only. */
function spdxId(text: string): string {
  return `SPDXRef-${text.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

/** A package's licenseDeclared; licences that are not expressions are added to `extracted` as LicenseRefs. */
function declaredLicense(licenses: readonly string[], extracted: Map<string, ExtractedLicense>): string {
  const parts = licenses.flatMap((text) => {
    if (text.trim() === '') return [];
    const expression = spdxExpression(text);
    if (expression !== undefined) return [expression];
    let id = licenseRefFor(text);
    for (let n = 2; extracted.has(id) && extracted.get(id)?.name !== text; n++) id = `${licenseRefFor(text)}-${n}`;
    extracted.set(id, { licenseId: id, extractedText: text, name: text });
    return [id];
  });
  return parts.length === 0 ? NOASSERTION : joinExpressions(parts);
}

function imagePackage(catalogue: Catalogue): JsonObject {
  const name = catalogue.subject?.name ?? 'unknown';
  const digest = catalogue.subject?.digest;
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest ?? '')?.[1];
  const purl = ociPurl(catalogue.subject);
  return {
    name,
    SPDXID: spdxId(`DocumentRoot-Image-${name}`),
    ...(digest ? { versionInfo: digest } : {}),
    supplier: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    ...(hex ? { checksums: [{ algorithm: 'SHA256', checksumValue: hex }] } : {}),
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    ...(purl
      ? {
          externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }],
        }
      : {}),
    primaryPackagePurpose: 'CONTAINER',
  };
}

function packageEntry(p: CataloguedPackage, key: string, extracted: Map<string, ExtractedLicense>): JsonObject {
  return {
    name: p.name,
    SPDXID: spdxId(`Package-${SYFT_TYPES[p.type]}-${p.name}-${key}`),
    versionInfo: p.version,
    supplier: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    sourceInfo: `${SOURCE_INFO[p.type]}: ${p.foundIn}`,
    licenseConcluded: NOASSERTION,
    licenseDeclared: declaredLicense(p.licenses, extracted),
    copyrightText: NOASSERTION,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }],
  };
}

/** syft's namespace shape, `…/image/<name>-<uuid>`, under spdx.org/spdxdocs as the spec's examples and npm use. */
function documentNamespace(name: string, uuid: string): string {
  return `https://spdx.org/spdxdocs/airlock/image/${name.replace(/[^A-Za-z0-9._~-]/g, '-')}-${uuid}`;
}

/** The catalogue as SPDX 2.3 JSON, two-space indented. */
export function writeSpdx(catalogue: Catalogue, context: FormatContext): string {
  const extracted = new Map<string, ExtractedLicense>();
  const keys = uniqueKeys(catalogue.packages);
  const packages = catalogue.packages.map((p, i) => packageEntry(p, keys[i] as string, extracted));
  const root = imagePackage(catalogue);
  const name = catalogue.subject?.name ?? 'unknown';
  const document = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: documentNamespace(name, context.uuid),
    creationInfo: {
      creators: [`Tool: airlock-${context.toolVersion}`],
      created: context.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    packages: [...packages, root],
    relationships: [
      ...packages.map((p) => ({
        spdxElementId: root.SPDXID,
        relatedSpdxElement: p.SPDXID,
        relationshipType: 'CONTAINS',
      })),
      { spdxElementId: 'SPDXRef-DOCUMENT', relatedSpdxElement: root.SPDXID, relationshipType: 'DESCRIBES' },
    ],
    ...(extracted.size > 0 ? { hasExtractedLicensingInfos: [...extracted.values()] } : {}),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The elements the document DESCRIBES (relationships, or SPDX 2.2's documentDescribes). */
function describedIds(doc: JsonObject, source: string): Set<string> {
  const ids = new Set<string>();
  for (const id of list(doc, 'documentDescribes', source, SBOM_LIMITS.entries)) if (typeof id === 'string') ids.add(id);
  for (const r of objectList(doc, 'relationships', source, SBOM_LIMITS.entries)) {
    const related = field(r, 'relatedSpdxElement', source);
    if (
      field(r, 'relationshipType', source) === 'DESCRIBES' &&
      field(r, 'spdxElementId', source) === 'SPDXRef-DOCUMENT'
    )
      if (related !== undefined) ids.add(related);
  }
  return ids;
}

/** LicenseRef identifier → the licence as recorded (its name, else its text). */
function extractedNames(doc: JsonObject, source: string): Map<string, string> {
  const infos = objectList(doc, 'hasExtractedLicensingInfos', source, SBOM_LIMITS.entries);
  const names = new Map<string, string>();
  for (const info of infos) {
    const id = field(info, 'licenseId', source);
    const text = field(info, 'name', source) ?? field(info, 'extractedText', source);
    if (id !== undefined && text !== undefined && text !== NOASSERTION) names.set(id, text);
  }
  return names;
}

function licensesOf(p: JsonObject, names: ReadonlyMap<string, string>, source: string): string[] {
  const declared = field(p, 'licenseDeclared', source);
  if (declared === undefined || declared === NOASSERTION || declared === 'NONE') return [];
  const parts = splitExpression(declared);
  if (parts.length > SBOM_LIMITS.licensesPerPackage) throw malformed(source, 'a package has too many licences');
  return parts.map((part) => names.get(part) ?? part);
}

/** The paths out of syft's `acquired package info from <what>: <path>[, <path>…]`. */
function foundInPaths(p: JsonObject, source: string): string[] {
  const info = field(p, 'sourceInfo', source) ?? '';
  const colon = info.startsWith('acquired package info from') ? info.indexOf(': ') : -1;
  return colon < 0 ? [] : info.slice(colon + 2).split(/, (?=\/)/);
}

function purlRef(p: JsonObject, source: string): string | undefined {
  for (const ref of objectList(p, 'externalRefs', source, SBOM_LIMITS.entries))
    if (field(ref, 'referenceType', source) === 'purl') return field(ref, 'referenceLocator', source);
  return undefined;
}

/** The image a root package names: its name, and its digest from versionInfo, a SHA256 checksum or its purl. */
function subjectOf(p: JsonObject, source: string): Catalogue['subject'] {
  const sums = objectList(p, 'checksums', source, SBOM_LIMITS.entries);
  const sha256 = sums.find((c) => field(c, 'algorithm', source) === 'SHA256');
  // Only a container's version and checksum are its digest; a described file's checksum is no image digest.
  const container = field(p, 'primaryPackagePurpose', source) === 'CONTAINER';
  const digests = container ? [field(p, 'versionInfo', source), sha256 && field(sha256, 'checksumValue', source)] : [];
  const evidence = [...digests, purlRef(p, source)];
  return subjectFrom(field(p, 'name', source), evidence);
}

function operatingSystem(p: JsonObject | undefined, source: string): Distro | undefined {
  const id = p && field(p, 'name', source);
  if (!p || !id) return undefined;
  const versionId = field(p, 'versionInfo', source);
  return { id: id.toLowerCase(), ...(versionId ? { versionId } : {}), idLike: [] };
}

/**
 * An SPDX 2.x JSON document (ours or syft's) as a catalogue: packages from their purls. Only the image is
 * skipped, as the subject: the first package with a `pkg:oci` purl, or without a purl that is a CONTAINER
 * or DESCRIBED. Every package with a package purl is catalogued whatever its purpose and whether described;
 * an OPERATING-SYSTEM package without one gives the distro; anything else goes to the collector, which
 * lists what it cannot identify as unidentified.
 */
export function readSpdx(doc: JsonObject, source: string): Catalogue {
  if (!field(doc, 'spdxVersion', source)?.startsWith('SPDX-2.')) throw malformed(source, 'is not SPDX 2.x JSON');
  const described = describedIds(doc, source);
  const names = extractedNames(doc, source);
  const collector = new CatalogueCollector();
  let subject: Catalogue['subject'];
  let os: JsonObject | undefined;
  for (const p of objectList(doc, 'packages', source, SBOM_LIMITS.packages)) {
    const purpose = field(p, 'primaryPackagePurpose', source);
    const purl = purlRef(p, source);
    const root = purpose === 'CONTAINER' || described.has(field(p, 'SPDXID', source) ?? '');
    if (subject === undefined && (isImagePurl(purl) || (purl === undefined && root))) subject = subjectOf(p, source);
    else if (purpose === 'OPERATING-SYSTEM' && purl === undefined) os ??= p;
    else {
      const foundIn = pickFoundIn(foundInPaths(p, source), purl);
      collector.add(purl, { licenses: licensesOf(p, names, source), foundIn, name: field(p, 'name', source) });
    }
  }
  return collector.catalogue(subject, collector.purlDistro() ?? operatingSystem(os, source));
}
