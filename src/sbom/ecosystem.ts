// The OSV ecosystem of a package (ossf/osv-schema ecosystems.json), from its type and the image's
// os-release, mapped as osv-scalibr's extractor/filesystem/os/ecosystem does: language ecosystems need no
// distro; distro packages are scoped to their release (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.19`).
import type { Distro, PackageType } from './package.ts';

/** Debian releases by codename, for an os-release without VERSION_ID (testing); distro-info-data's numbers. */
const DEBIAN_RELEASES: Readonly<Record<string, string>> = {
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
  duke: '15',
};

function debianEcosystem(distro: Distro): string | undefined {
  if (distro.versionId) return `Debian:${distro.versionId.split('.')[0]}`;
  const codename = distro.versionCodename;
  if (codename === 'sid') return 'Debian:sid';
  const number = codename === undefined ? undefined : DEBIAN_RELEASES[codename];
  return number === undefined ? undefined : `Debian:${number}`;
}

/** Ubuntu: `:LTS` is mandatory on LTS releases: PRETTY_NAME says so, or (without one) an even-year `.04`. */
function ubuntuEcosystem(distro: Distro): string | undefined {
  const v = distro.versionId;
  if (!v) return undefined;
  const lts = distro.prettyName === undefined ? /^\d*[02468]\.04$/.test(v) : /\bLTS\b/.test(distro.prettyName);
  return lts ? `Ubuntu:${v}:LTS` : `Ubuntu:${v}`;
}

function major(versionId: string | undefined): string | undefined {
  return /^(\d+)/.exec(versionId ?? '')?.[1];
}

function apkEcosystem(distro: Distro): string | undefined {
  if (distro.id === 'wolfi') return 'Wolfi';
  if (distro.id === 'chainguard') return 'Chainguard';
  if (distro.id !== 'alpine') return undefined;
  const branch = /^(\d+\.\d+)/.exec(distro.versionId ?? '')?.[1];
  return branch === undefined ? undefined : `Alpine:v${branch}`;
}

/**
 * RPM distros osv-scalibr names: AlmaLinux and Rocky Linux by major release (osv.dev keys their advisories
 * so; scalibr leaves Rocky bare, but RLSA records carry `Rocky Linux:9`), openSUSE Leap, SLES, Azure Linux,
 * Mageia, and Photon OS (osv-schema). RHEL needs the CPE_NAME of os-release, which Distro does not keep.
 */
function rpmEcosystem(distro: Distro): string | undefined {
  const v = distro.versionId;
  if (!v) return undefined;
  switch (distro.id) {
    case 'almalinux':
      return `AlmaLinux:${major(v)}`;
    case 'rocky':
      return `Rocky Linux:${major(v)}`;
    case 'opensuse-leap':
      return `openSUSE:Leap ${v}`;
    case 'sles':
      return `SUSE:${v}`;
    case 'azurelinux':
    case 'mariner':
      return `Azure Linux:${v}`;
    case 'mageia':
      return `Mageia:${v}`;
    case 'photon':
      return `Photon OS:${v}`;
    default:
      return undefined;
  }
}

const LANGUAGE_ECOSYSTEMS: Readonly<Partial<Record<PackageType, string>>> = {
  npm: 'npm',
  pypi: 'PyPI',
  golang: 'Go',
  maven: 'Maven',
};

/** The OSV ecosystem string of a package of this type in this distro; undefined when airlock does not know it. */
export function osvEcosystem(type: PackageType, distro: Distro | undefined): string | undefined {
  const language = LANGUAGE_ECOSYSTEMS[type];
  if (language !== undefined) return language;
  if (!distro) return undefined;
  if (type === 'deb') {
    if (distro.id === 'debian') return debianEcosystem(distro);
    return distro.id === 'ubuntu' ? ubuntuEcosystem(distro) : undefined;
  }
  return type === 'apk' ? apkEcosystem(distro) : rpmEcosystem(distro);
}
