// The one shape every cataloguer returns and every SBOM format and the matcher read: a package found in
// an image, named as its own ecosystem names it, with the evidence (the file it was found in).
// Cataloguers fill FoundPackage from file contents alone; catalogue.ts adds what needs the whole image
// (the distro, so the purl's qualifiers and the OSV ecosystem) once, in one place (identify.ts).

/** The package managers and language ecosystems airlock catalogues. */
export type PackageType = 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang' | 'maven';

export interface SourcePackage {
  readonly name: string;
  readonly version?: string;
}

/** What a cataloguer reads out of one file: no purl, no ecosystem (those need the distro). */
export interface FoundPackage {
  readonly type: PackageType;
  /** As the ecosystem names it: dpkg Package, PyPI project name as recorded, Go module path, npm name with
   * scope, Maven `groupId:artifactId`. */
  readonly name: string;
  /** As recorded; dpkg/rpm with epoch (`1:2.3-4`); Go with its `v`; `stdlib` version as `go1.22.1`. */
  readonly version: string;
  readonly arch?: string;
  /** The distro source package (dpkg Source, apk origin, rpm SRPM name), when it differs or is recorded. */
  readonly source?: SourcePackage;
  /** Licence expressions or names where the package records them. */
  readonly licenses: readonly string[];
  /** Absolute path in the image's squashed file system of the file the package was read from. */
  readonly foundIn: string;
}

/** The distro from /etc/os-release (or /usr/lib/os-release). */
export interface Distro {
  readonly id: string;
  readonly versionId?: string;
  readonly versionCodename?: string;
  readonly prettyName?: string;
  readonly idLike: readonly string[];
}

/** A package with the identifiers that need the whole image: its purl and its OSV ecosystem. */
export interface CataloguedPackage extends FoundPackage {
  readonly purl: string;
  /** OSV ecosystem string (`Debian:12`, `Alpine:v3.19`, `PyPI`, `npm`, `Go`, `Maven`), if airlock knows it. */
  readonly ecosystem?: string;
}

/** An SBOM's content, whatever format it is written in. */
export interface Catalogue {
  /** The image catalogued, when known: its reference as given and its manifest digest. */
  readonly subject?: { readonly name: string; readonly digest?: string };
  readonly distro?: Distro;
  readonly packages: readonly CataloguedPackage[];
  /** What the cataloguers could not read and say plainly (e.g. an rpm BerkeleyDB), for the report. */
  readonly notes: readonly string[];
  /** Files a cataloguer wanted but could not read (a size cap, a read error, an unresolved hard link, a
   * symbolic link where a package database is read): what is in them is not evaluated. */
  readonly unread?: readonly string[];
  /**
   * Packages an SBOM lists that airlock cannot identify (no purl, or a purl of a kind it does not
   * catalogue: `pkg:generic`, `pkg:cargo`…), each as `name (purl or "no purl")`: they cannot be
   * evaluated, so a scan must not pass over them silently. Absent when there are none.
   */
  readonly unidentified?: readonly string[];
}
