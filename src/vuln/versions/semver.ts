// SemVer orders through the `semver` package (SemVer 2.0 precedence; build metadata ignored).
// npmOrder is npm's: versions parsed loosely as npm reads package.json (a leading `v` or `=`, blanks
// around, the looser pre-release spellings). semverOrder is for OSV ranges typed SEMVER in any
// ecosystem: a leading `v` is stripped, and a version short of three numbers (`1`, `1.2`) is read with
// the missing numbers as zero, as OSV's own tooling does; anything else semver cannot parse is refused.
import semver from 'semver';
import type { VersionCompare } from '../types.ts';
import { invalidVersion } from './invalid.ts';

/** The parsed version, or E_VERSION_INVALID naming the ecosystem. */
export function parseSemver(ecosystem: string, version: string, loose: boolean, text = version): semver.SemVer {
  const parsed = semver.parse(text, { loose });
  if (parsed === null) throw invalidVersion(ecosystem, version, 'it is not a semantic version');
  return parsed;
}

/**
 * A strict SemVer after one optional leading `v` (no second `v`, no blanks), with `shorthand` turning
 * what is left into the full form first.
 */
export function strictSemver(ecosystem: string, version: string, shorthand: (text: string) => string): semver.SemVer {
  const text = version.startsWith('v') ? version.slice(1) : version;
  if (!/^[0-9]/.test(text) || /\s/.test(text)) throw invalidVersion(ecosystem, version, 'it is not a semantic version');
  return parseSemver(ecosystem, version, false, shorthand(text));
}

/** npm's version order. */
export const npmOrder: VersionCompare = (a, b) =>
  semver.compare(parseSemver('npm', a, true), parseSemver('npm', b, true));

/** `1` → `1.0.0`, `1.2-rc.1` → `1.2.0-rc.1`; a full version unchanged. */
function completed(text: string): string {
  const short = /^(\d+)(\.\d+)?(?=$|[-+])/.exec(text);
  if (short === null) return text;
  return `${short[1]}${short[2] ?? '.0'}.0${text.slice(short[0].length)}`;
}

/** SemVer 2.0 precedence for OSV `SEMVER` ranges, whatever the ecosystem. */
export const semverOrder: VersionCompare = (a, b) =>
  semver.compare(strictSemver('SemVer', a, completed), strictSemver('SemVer', b, completed));
