// Debian's version order, deb-version(7) as dpkg 1.21 implements it (lib/dpkg/parsehelp.c parseversion,
// lib/dpkg/version.c verrevcmp): [epoch:]upstream[-revision]. Upstream and revision are compared as
// alternating non-digit and digit runs; in the non-digit runs `~` sorts before everything (even the
// end of the string), then letters, then every other character; digit runs compare as whole numbers of
// any length (leading zeros stripped, never converted to a JS number).
//
// Lenient exactly where dpkg is: a version that does not start with a digit or holds characters outside
// [A-Za-z0-9.+~:-] is only a warning for `dpkg --compare-versions` and is compared; what dpkg refuses
// (empty, embedded blanks, a bad epoch, nothing after the colon, an empty revision) throws
// E_VERSION_INVALID. Characters are compared as dpkg's signed chars: bytes of UTF-8, a byte ≥ 0x80
// sorting after letters and before ASCII punctuation.
import type { VersionCompare } from '../types.ts';
import { invalidVersion } from './invalid.ts';

export interface DebVersion {
  readonly epoch: number;
  readonly upstream: Uint8Array;
  readonly revision: Uint8Array;
}

const INT_MAX = 2147483647;
const utf8 = new TextEncoder();

const isBlank = (c: string): boolean => c === ' ' || c === '\t';
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Splits a Debian version as dpkg's parseversion does; throws E_VERSION_INVALID where dpkg errors. */
export function parseDebVersion(version: string): DebVersion {
  const fail = (reason: string) => invalidVersion('Debian', version, reason);
  let start = 0;
  while (start < version.length && isBlank(version.charAt(start))) start++;
  let end = start;
  while (end < version.length && !isBlank(version.charAt(end))) end++;
  if (start === version.length) throw fail('the version is empty');
  for (let i = end; i < version.length; i++) if (!isBlank(version.charAt(i))) throw fail('it has embedded blanks');
  let text = version.slice(start, end);
  let epoch = 0;
  const colon = text.indexOf(':');
  if (colon >= 0) {
    epoch = parseEpoch(text.slice(0, colon), fail);
    text = text.slice(colon + 1);
    if (text === '') throw fail('nothing after the colon');
  }
  const hyphen = text.lastIndexOf('-');
  if (hyphen === text.length - 1) throw fail('the revision is empty');
  const upstream = hyphen >= 0 ? text.slice(0, hyphen) : text;
  if (upstream === '') throw fail('the upstream version is empty');
  return { epoch, upstream: utf8.encode(upstream), revision: utf8.encode(hyphen >= 0 ? text.slice(hyphen + 1) : '') };
}

/** The epoch as C's strtol reads it (an optional sign, digits), which must be all of it and fit an int. */
function parseEpoch(text: string, fail: (reason: string) => Error): number {
  const number = /^([+-]?)0*([0-9]+)/.exec(text);
  if (number === null) throw fail('the epoch is empty');
  if (number[0].length !== text.length) throw fail('the epoch is not a number');
  const digits = number[2] ?? '';
  if (number[1] === '-' && digits !== '0') throw fail('the epoch is negative');
  if (digits.length > 10 || Number(digits) > INT_MAX) throw fail('the epoch is too big');
  return Number(digits);
}

/** dpkg's order(): digits and the end weigh 0, `~` -1, letters their code, anything else after letters. */
function order(c: number | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1;
  return c < 128 ? c + 256 : c;
}

/** dpkg's verrevcmp over two byte strings. */
export function compareDebPart(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i]!)) || (j < b.length && !isDigit(b[j]!))) {
      const diff = order(a[i]) - order(b[j]);
      if (diff !== 0) return diff;
      i++;
      j++;
    }
    while (a[i] === 48) i++;
    while (b[j] === 48) j++;
    let firstDiff = 0;
    while (i < a.length && j < b.length && isDigit(a[i]!) && isDigit(b[j]!)) {
      if (firstDiff === 0) firstDiff = a[i]! - b[j]!;
      i++;
      j++;
    }
    if (i < a.length && isDigit(a[i]!)) return 1;
    if (j < b.length && isDigit(b[j]!)) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Debian's version order (`dpkg --compare-versions`). */
export const debOrder: VersionCompare = (a, b) => {
  const x = parseDebVersion(a);
  const y = parseDebVersion(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return compareDebPart(x.upstream, y.upstream) || compareDebPart(x.revision, y.revision);
};
