// Go modules' version order, as golang.org/x/mod/semver.Compare has it: `v` then SemVer 2.0, with the
// shorthands `v1` = `v1.0.0` and `v1.2` = `v1.2.0`. Pseudo-versions (`v0.0.0-20230101000000-abcdef123456`,
// `v1.2.4-0.20230101000000-abcdef123456`, `v1.2.3-pre.0.20230101000000-abcdef123456`) are pre-releases
// and so sort before the release they lead to and after the one they follow; `+incompatible` is build
// metadata and so ignored. OSV writes Go versions without the `v`; both spellings are read. Strict:
// leading zeros (`v01.2.3`) are invalid in Go and refused.
import semver from 'semver';
import type { VersionCompare } from '../types.ts';
import { strictSemver } from './semver.ts';

/** Go's shorthands `1` and `1.2`, only without a pre-release or build suffix (`v1.2-pre` is invalid). */
function shorthand(text: string): string {
  return /^\d+$/.test(text) ? `${text}.0.0` : /^\d+\.\d+$/.test(text) ? `${text}.0` : text;
}

/** Go's module version order. */
export const goOrder: VersionCompare = (a, b) =>
  semver.compare(strictSemver('Go', a, shorthand), strictSemver('Go', b, shorthand));
