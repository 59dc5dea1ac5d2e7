// Names as grype prints them, so airlock's table and grype-shaped JSON read like grype's.

/** grype's names for package types (its table's TYPE column and its JSON `artifact.type`): syft's, which it reads. */
export { SYFT_TYPES as TYPE_NAMES } from '../../sbom/formats/common.ts';

/** A severity as grype prints it: `Critical`, `Unknown`. */
export function severityWord(severity: string): string {
  return severity.charAt(0).toUpperCase() + severity.slice(1);
}
