// CycloneDX 1.6 JSON, built as models of `@cyclonedx/cyclonedx-library` and written by its JSON serializer,
// shaped as `syft -o cyclonedx-json` writes it; and read back (ours and syft's) from the JSON itself, since
// the library has no deserializer. Pure: the time, the serial number's uuid and the tool version are passed in.
//
// As syft: the image is metadata.component (type container, its digest as version and a `pkg:oci/…` purl),
// a `library` component per package with its purl and a bom-ref of the purl and a package id, the file a
// package was found in as the property `syft:location:0:path` (syft's naming, so syft and grype read it
// back; the CycloneDX property taxonomy has no name for it), and the distro as an `operating-system`
// component with syft's `syft:distro:*` properties. Licences: one listed SPDX id → `license.id`, text that
// is no SPDX expression → `license.name`, compound expressions → one `expression` for the package (the
// schema allows one expression or a list of licences, not both; when they mix, all go as licences).
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { Catalogue, CataloguedPackage, Distro } from '../package.ts';
import {
  field,
  type FormatContext,
  isObject,
  type JsonObject,
  objectList,
  malformed,
  ociPurl,
  pickFoundIn,
  SBOM_LIMITS,
  subjectFrom,
  CatalogueCollector,
  isImagePurl,
  uniqueKeys,
} from './common.ts';
import { isSingleListedId, joinExpressions, spdxExpression, splitExpression } from './licenses.ts';

function licenses(recorded: readonly string[]): Models.License[] {
  const read = recorded.filter((t) => t.trim() !== '').map((text) => ({ text, expression: spdxExpression(text) }));
  const expressions = read.map((r) => r.expression).filter((e): e is string => e !== undefined);
  if (expressions.length === read.length && expressions.some((e) => !isSingleListedId(e)))
    return [new Models.LicenseExpression(joinExpressions(expressions))];
  return read.map((r) =>
    r.expression !== undefined && isSingleListedId(r.expression)
      ? new Models.SpdxLicense(r.expression)
      : new Models.NamedLicense(r.text),
  );
}

function component(p: CataloguedPackage, key: string): Models.Component {
  const maven = p.type === 'maven' ? /^([^:]+):(.+)$/.exec(p.name) : null;
  return new Models.Component(Enums.ComponentType.Library, maven?.[2] ?? p.name, {
    bomRef: `${p.purl}${p.purl.includes('?') ? '&' : '?'}package-id=${key}`,
    ...(maven?.[1] ? { group: maven[1] } : {}),
    version: p.version,
    purl: p.purl,
    licenses: new Models.LicenseRepository(licenses(p.licenses)),
    properties: new Models.PropertyRepository([new Models.Property('syft:location:0:path', p.foundIn)]),
  });
}

function imageComponent(subject: NonNullable<Catalogue['subject']>): Models.Component {
  const purl = ociPurl(subject);
  const digest = subject.digest;
  return new Models.Component(Enums.ComponentType.Container, subject.name, {
    bomRef: `image:${subject.name}`,
    ...(digest ? { version: digest } : {}),
    ...(purl ? { purl } : {}),
  });
}

function osComponent(distro: Distro): Models.Component {
  const properties: Models.Property[] = [new Models.Property('syft:distro:id', distro.id)];
  distro.idLike.forEach((like, i) => properties.push(new Models.Property(`syft:distro:idLike:${i}`, like)));
  if (distro.prettyName) properties.push(new Models.Property('syft:distro:prettyName', distro.prettyName));
  if (distro.versionCodename)
    properties.push(new Models.Property('syft:distro:versionCodename', distro.versionCodename));
  if (distro.versionId) properties.push(new Models.Property('syft:distro:versionID', distro.versionId));
  return new Models.Component(Enums.ComponentType.OperatingSystem, distro.id, {
    bomRef: distro.versionId ? `os:${distro.id}@${distro.versionId}` : `os:${distro.id}`,
    ...(distro.versionId ? { version: distro.versionId } : {}),
    ...(distro.prettyName ? { description: distro.prettyName } : {}),
    properties: new Models.PropertyRepository(properties),
  });
}

/** The catalogue as CycloneDX 1.6 JSON, two-space indented. */
export function writeCycloneDx(catalogue: Catalogue, context: FormatContext): string {
  const bom = new Models.Bom({ serialNumber: `urn:uuid:${context.uuid}` });
  bom.metadata.timestamp = context.now;
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'airlock', { version: context.toolVersion }),
  );
  if (catalogue.subject) bom.metadata.component = imageComponent(catalogue.subject);
  const keys = uniqueKeys(catalogue.packages);
  catalogue.packages.forEach((p, i) => bom.components.add(component(p, keys[i] as string)));
  if (catalogue.distro) bom.components.add(osComponent(catalogue.distro));
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return `${serializer.serialize(bom, { sortLists: false, space: 2 })}\n`;
}

/** name → value of a component's properties (the first of each name). */
function propertiesOf(c: JsonObject, source: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const p of objectList(c, 'properties', source, SBOM_LIMITS.entries)) {
    const name = field(p, 'name', source);
    const value = field(p, 'value', source);
    if (name !== undefined && value !== undefined && !properties.has(name)) properties.set(name, value);
  }
  return properties;
}

function licensesOf(c: JsonObject, source: string): string[] {
  const entries = objectList(c, 'licenses', source, SBOM_LIMITS.licensesPerPackage);
  return entries.flatMap((entry) => {
    const expression = field(entry, 'expression', source);
    if (expression !== undefined) return splitExpression(expression);
    const license = isObject(entry.license) ? entry.license : {};
    const text = field(license, 'id', source) ?? field(license, 'name', source);
    return text === undefined ? [] : [text];
  });
}

/** syft's `syft:location:<n>:path` properties in order, else CycloneDX evidence occurrences. */
function locationsOf(c: JsonObject, properties: ReadonlyMap<string, string>, source: string): string[] {
  const numbered = [...properties]
    .map(([name, value]) => [/^syft:location:(\d+):path$/.exec(name)?.[1], value] as const)
    .filter((e): e is readonly [string, string] => e[0] !== undefined)
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  if (numbered.length > 0) return numbered.map((e) => e[1]);
  const evidence = isObject(c.evidence) ? c.evidence : {};
  const occurrences = objectList(evidence, 'occurrences', source, SBOM_LIMITS.entries);
  return occurrences.map((o) => field(o, 'location', source)).filter((l): l is string => l !== undefined);
}

function distroOf(c: JsonObject, properties: ReadonlyMap<string, string>, source: string): Distro | undefined {
  const id = properties.get('syft:distro:id') ?? field(c, 'name', source);
  if (!id) return undefined;
  const idLike = [...properties].filter(([name]) => /^syft:distro:idLike:\d+$/.test(name)).map(([, v]) => v);
  const versionId = properties.get('syft:distro:versionID') ?? field(c, 'version', source);
  const versionCodename = properties.get('syft:distro:versionCodename');
  const prettyName = properties.get('syft:distro:prettyName');
  return {
    id,
    ...(versionId ? { versionId } : {}),
    ...(versionCodename ? { versionCodename } : {}),
    ...(prettyName ? { prettyName } : {}),
    idLike,
  };
}

/** Every component, nested ones too, depth first; bounded in depth and in number. */
function allComponents(doc: JsonObject, source: string): JsonObject[] {
  const out: JsonObject[] = [];
  const walk = (parent: JsonObject, depth: number): void => {
    if (depth > SBOM_LIMITS.depth) throw malformed(source, `components are nested deeper than ${SBOM_LIMITS.depth}`);
    for (const c of objectList(parent, 'components', source, SBOM_LIMITS.packages)) {
      if (out.push(c) > SBOM_LIMITS.packages)
        throw malformed(source, `has more than ${SBOM_LIMITS.packages} components`);
      walk(c, depth + 1);
    }
  };
  walk(doc, 0);
  return out;
}

/** Whether a component is an image (a `pkg:oci` purl, or a container without a purl): a subject, not a package. */
function isImage(c: JsonObject, source: string): boolean {
  const purl = field(c, 'purl', source);
  return isImagePurl(purl) || (purl === undefined && c.type === 'container');
}

function collect(collector: CatalogueCollector, c: JsonObject, source: string): void {
  const purl = field(c, 'purl', source);
  const foundIn = pickFoundIn(locationsOf(c, propertiesOf(c, source), source), purl);
  collector.add(purl, { licenses: licensesOf(c, source), foundIn, name: field(c, 'name', source) });
}

/**
 * A CycloneDX JSON BOM (ours or syft's) as a catalogue: packages from their purls, the distro from the
 * operating-system component or else the purls, the image from metadata.component. Only images are
 * skipped (isImage); a metadata.component with a package purl is catalogued too; an operating-system
 * component gives the distro (and is catalogued when it has a purl); a `file` component without a purl is a
 * file, not a package (counted in a note); any other component the collector cannot identify is listed
 * as unidentified, never dropped.
 */
export function readCycloneDx(doc: JsonObject, source: string): Catalogue {
  if (doc.bomFormat !== 'CycloneDX' || !/^1\.\d+$/.test(field(doc, 'specVersion', source) ?? ''))
    throw malformed(source, 'is not CycloneDX 1.x JSON');
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const main = isObject(metadata.component) ? metadata.component : undefined;
  const subject = main
    ? subjectFrom(field(main, 'name', source), [field(main, 'version', source), field(main, 'purl', source)])
    : undefined;
  const collector = new CatalogueCollector();
  if (main && !isImage(main, source)) collect(collector, main, source);
  let os: Distro | undefined;
  let files = 0;
  for (const c of allComponents(doc, source)) {
    const purl = field(c, 'purl', source);
    if (c.type === 'operating-system') os ??= distroOf(c, propertiesOf(c, source), source);
    if (isImage(c, source) || (purl === undefined && c.type === 'operating-system')) continue;
    if (purl === undefined && c.type === 'file') files++;
    else collect(collector, c, source);
  }
  const catalogue = collector.catalogue(subject, os ?? collector.purlDistro());
  return files === 0
    ? catalogue
    : { ...catalogue, notes: [...catalogue.notes, `${files} file component(s) without a purl: files, not packages`] };
}
