// Names as grype prints them, so airlock's table and grype-shaped JSON read like grype's.
import type { PackageType } from '../../sbom/package.ts';

/** grype's names for package types (its table's TYPE column and its JSON `artifact.type`). */
export const TYPE_NAMES: Readonly<Record<PackageType, string>> = {
  deb: 'deb',
  apk: 'apk',
  rpm: 'rpm',
  npm: 'npm',
  pypi: 'python',
  golang: 'go-module',
  maven: 'java-archive',
};

/** A severity as grype prints it: `Critical`, `Unknown`. */
export function severityWord(severity: string): string {
  return severity.charAt(0).toUpperCase() + severity.slice(1);
}
