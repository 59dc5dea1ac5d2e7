// Python's version order, PEP 440 as `packaging.version.Version` reads it, through @renovatebot/pep440's
// public API (its `parse` with blanks around the version allowed, as packaging allows, then `compare`):
// the normalised forms (`1.0-1` = `1.0.post1`, `1.0alpha` = `1.0a0`, `v1.0`, upper case) compare equal.
// One deviation, failing closed: the library keeps numbers as JS numbers, so a version with a number
// beyond 2^53 - 1 is refused here (E_VERSION_INVALID) where Python would compare it exactly.
import { compare, parse } from '@renovatebot/pep440';
import type { VersionCompare } from '../types.ts';
import { invalidVersion } from './invalid.ts';

function hasUnsafeNumber(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isSafeInteger(value);
  return Array.isArray(value) && value.some(hasUnsafeNumber);
}

/** The version without the blanks packaging allows around it; E_VERSION_INVALID if PEP 440 cannot read it. */
export function checkedPep440(version: string): string {
  const text = version.trim();
  const parsed = parse(text);
  if (parsed === null) throw invalidVersion('PyPI', version, 'it is not a PEP 440 version');
  if (Object.values(parsed).some(hasUnsafeNumber))
    throw invalidVersion('PyPI', version, 'a number in it is too large to compare exactly');
  return text;
}

/** PEP 440's version order. */
export const pep440Order: VersionCompare = (a, b) => compare(checkedPep440(a), checkedPep440(b));
