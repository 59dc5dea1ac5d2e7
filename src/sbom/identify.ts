// A found package's identifiers that need the whole image: its purl (purl-spec, as syft writes them, so
// grype and our matcher read the same qualifiers) and its OSV ecosystem (ecosystem.ts). And the reverse, for
// SBOMs read back: a package from its purl, the distro from the purls' `distro` qualifiers.
//
// Differences from syft, on purpose: packageurl-js writes the canonical form (qualifiers sorted by key, so
// `distro` comes before `upstream`; `:` in a version left as is), which parses to the same purl; deb and
// apk packages get a purl without a namespace when the image has no os-release, where syft writes none.
import { PackageURL } from 'packageurl-js';
import { osvEcosystem } from './ecosystem.ts';
import type { CataloguedPackage, Distro, FoundPackage, PackageType, SourcePackage } from './package.ts';

export { osvEcosystem } from './ecosystem.ts';

/** Identifies every found package against the image's distro. */
export function identifyPackages(found: readonly FoundPackage[], distro: Distro | undefined): CataloguedPackage[] {
  return found.map((p) => {
    const ecosystem = osvEcosystem(p.type, distro);
    return { ...p, purl: purlOf(p, distro), ...(ecosystem === undefined ? {} : { ecosystem }) };
  });
}

/** `1:2.3-4` → epoch `1`, rest `2.3-4`; no epoch → undefined. */
function splitEpoch(version: string): { epoch?: string; rest: string } {
  const m = /^(\d+):(.*)$/.exec(version);
  return m ? { epoch: m[1], rest: m[2] ?? '' } : { rest: version };
}

/** syft's `distro` qualifier: `<ID>-<VERSION_ID>`, or the ID alone when there is no VERSION_ID. */
function distroQualifier(distro: Distro | undefined): string | undefined {
  if (!distro?.id) return undefined;
  return distro.versionId ? `${distro.id}-${distro.versionId}` : distro.id;
}

/** The purl's namespace for an rpm: syft's mapping (rhel → redhat, opensuse-* → opensuse). */
function rpmNamespace(distro: Distro | undefined): string | undefined {
  const id = distro?.id;
  if (!id) return undefined;
  if (id === 'rhel') return 'redhat';
  return id.startsWith('opensuse') ? 'opensuse' : id;
}

/** The rpm `upstream` qualifier: the source RPM's file name, as rpm records it in SOURCERPM. */
function srpmFileName(source: SourcePackage): string {
  if (source.name.endsWith('.rpm') || source.version === undefined) return source.name;
  return `${source.name}-${source.version}.src.rpm`;
}

function qualifiers(entries: Record<string, string | undefined>): Record<string, string> | undefined {
  const kept = Object.entries(entries).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '');
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

/** Splits a path at its last `/` into namespace and name (Go module paths, as purl-spec's golang type says). */
function splitPath(path: string): { namespace?: string; name: string } {
  const at = path.lastIndexOf('/');
  return at > 0 && at < path.length - 1 ? { namespace: path.slice(0, at), name: path.slice(at + 1) } : { name: path };
}

function distroPurl(p: FoundPackage, distro: Distro | undefined): PackageURL {
  const arch = p.arch;
  const distroQ = distroQualifier(distro);
  if (p.type === 'deb') {
    const upstream = p.source && (p.source.version ? `${p.source.name}@${p.source.version}` : p.source.name);
    const q = qualifiers({ arch, upstream, distro: distroQ });
    return new PackageURL('deb', distro?.id, p.name, p.version, q, undefined);
  }
  if (p.type === 'apk') {
    const upstream = p.source && p.source.name !== p.name ? p.source.name : undefined;
    const q = qualifiers({ arch, upstream, distro: distroQ });
    return new PackageURL('apk', distro?.id.toLowerCase(), p.name, p.version, q, undefined);
  }
  // rpm: the epoch is a qualifier, not part of the version (purl-spec's rpm type).
  const { epoch, rest } = splitEpoch(p.version);
  const upstream = p.source ? srpmFileName(p.source) : undefined;
  const q = qualifiers({ arch, epoch, upstream, distro: distroQ });
  return new PackageURL('rpm', rpmNamespace(distro), p.name, rest, q, undefined);
}

function languagePurl(p: FoundPackage): PackageURL {
  switch (p.type) {
    case 'npm': {
      const scoped = /^(@[^/]+)\/(.+)$/.exec(p.name);
      return new PackageURL('npm', scoped?.[1], scoped?.[2] ?? p.name, p.version, undefined, undefined);
    }
    case 'golang': {
      // The Go toolchain's standard library: syft writes `pkg:golang/stdlib@1.22.1` for `go1.22.1`.
      const version = p.name === 'stdlib' ? p.version.replace(/^go/, '') : p.version;
      const { namespace, name } = splitPath(p.name);
      return new PackageURL('golang', namespace, name, version, undefined, undefined);
    }
    case 'maven': {
      // `groupId:artifactId`; with no group known, syft uses the artifact id as the group.
      const at = p.name.indexOf(':');
      const group = at > 0 ? p.name.slice(0, at) : p.name;
      const artifact = at > 0 ? p.name.slice(at + 1) : p.name;
      return new PackageURL('maven', group, artifact, p.version, undefined, undefined);
    }
    default:
      return new PackageURL('pypi', undefined, p.name, p.version, undefined, undefined);
  }
}

/** The package's purl, in packageurl-js's canonical form. */
export function purlOf(p: FoundPackage, distro: Distro | undefined): string {
  const isDistro = p.type === 'deb' || p.type === 'apk' || p.type === 'rpm';
  return (isDistro ? distroPurl(p, distro) : languagePurl(p)).toString();
}

const PURL_TYPES: Readonly<Record<string, PackageType>> = {
  deb: 'deb',
  apk: 'apk',
  rpm: 'rpm',
  npm: 'npm',
  pypi: 'pypi',
  golang: 'golang',
  maven: 'maven',
};

function parsePurl(purl: string): PackageURL | undefined {
  try {
    return PackageURL.fromString(purl);
  } catch {
    return undefined;
  }
}

/** A `distro` qualifier back to a distro: `opensuse-leap-15.5` → id `opensuse-leap`, VERSION_ID `15.5`. */
function distroFromQualifier(value: string | undefined): Distro | undefined {
  if (!value) return undefined;
  const m = /^(.+)-(\d[^-]*)$/.exec(value);
  return m ? { id: m[1] ?? value, versionId: m[2], idLike: [] } : { id: value, idLike: [] };
}

/** The distro the first distro package's purl names in its `distro` qualifier (syft's SPDX reader does so too). */
export function distroFromPurls(purls: Iterable<string>): Distro | undefined {
  for (const purl of purls) {
    if (!/^pkg:(deb|apk|rpm)\//.test(purl)) continue;
    const distro = distroFromQualifier(parsePurl(purl)?.qualifiers?.distro);
    if (distro) return distro;
  }
  return undefined;
}

/** `dbus-1.12.8-12.el8.src.rpm` → `dbus` at `1.12.8-12.el8`. */
function sourceFromSrpm(upstream: string): SourcePackage {
  const m = /^(.+)-([^-]+-[^-]+)\.(?:src|nosrc)\.rpm$/.exec(upstream);
  return m?.[1] && m[2] ? { name: m[1], version: m[2] } : { name: upstream };
}

function sourceFromUpstream(type: PackageType, upstream: string | undefined): SourcePackage | undefined {
  if (!upstream) return undefined;
  if (type === 'rpm') return sourceFromSrpm(upstream);
  const at = type === 'deb' ? upstream.indexOf('@') : -1;
  return at > 0 ? { name: upstream.slice(0, at), version: upstream.slice(at + 1) } : { name: upstream };
}

/** PEP 503's normalised form, which packageurl-js nearly writes (it keeps dots). */
function pep503(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function nameFromPurl(type: PackageType, p: PackageURL, recorded: string | undefined): string {
  const ns = p.namespace;
  switch (type) {
    case 'npm': {
      // packageurl-js lowercases npm names; a legacy name (`JSONStream`) keeps its case as recorded.
      const name = ns ? `${ns}/${p.name}` : p.name;
      return recorded !== undefined && recorded.toLowerCase() === name.toLowerCase() ? recorded : name;
    }
    case 'golang':
      return ns ? `${ns}/${p.name}` : p.name;
    case 'maven':
      return ns ? `${ns}:${p.name}` : p.name;
    case 'pypi':
      return recorded !== undefined && pep503(recorded) === pep503(p.name) ? recorded : p.name;
    default:
      return p.name;
  }
}

function versionFromPurl(type: PackageType, p: PackageURL): string {
  const version = p.version ?? '';
  const epoch = p.qualifiers?.epoch;
  if (type === 'rpm' && epoch && /^\d+$/.test(epoch)) return `${epoch}:${version}`;
  if (type === 'golang' && p.name === 'stdlib' && !p.namespace && /^\d/.test(version)) return `go${version}`;
  return version;
}

/** What an SBOM records beside a package's purl. `name`: the name as written, kept when the purl's is its
 * normalised form (PyPI, npm's lower case). */
export interface PurlContext {
  readonly licenses: readonly string[];
  readonly foundIn: string;
  readonly name?: string;
}

/**
 * A catalogued package from its purl: name and version as the ecosystem writes them (Go module path, npm
 * scope, Maven `groupId:artifactId`, rpm `E:V-R` with the epoch folded back as the comparators expect,
 * deb versions with their epoch as syft keeps it in the purl), the source package from `upstream`, the
 * ecosystem from the `distro` qualifier. Undefined for a purl that does not parse or of another type.
 */
export function packageFromPurl(purl: string, rest: PurlContext): CataloguedPackage | undefined {
  const p = parsePurl(purl);
  const type = p ? PURL_TYPES[p.type] : undefined;
  if (!p || !type) return undefined;
  const arch = p.qualifiers?.arch;
  const source = sourceFromUpstream(type, p.qualifiers?.upstream);
  const ecosystem = osvEcosystem(type, distroFromQualifier(p.qualifiers?.distro));
  return {
    type,
    name: nameFromPurl(type, p, rest.name),
    version: versionFromPurl(type, p),
    ...(arch ? { arch } : {}),
    ...(source ? { source } : {}),
    licenses: [...rest.licenses],
    foundIn: rest.foundIn,
    purl,
    ...(ecosystem === undefined ? {} : { ecosystem }),
  };
}
