// RPM's version order as rpm 4.18 implements it: rpmvercmp (rpmio/rpmvercmp.c) over each part of
// [epoch:]version[-release], parsed as rpm's parseEVR does (lib/rpmver.c) and combined as
// rpm.labelCompare does (a missing epoch is "0"; a missing release sorts before any release, "" included).
//
// rpmvercmp splits each string into runs of digits and runs of ASCII letters, skipping everything else
// as separators; `~` sorts before everything (even the end), `^` after the end but before any other
// run; a digit run is newer than a letter run; digit runs compare as numbers of any length (leading
// zeros stripped, longer wins), letter runs byte by byte. rpm compares any string; only an empty version
// is refused here, because it is no version at all.
import type { VersionCompare } from '../types.ts';
import { invalidVersion } from './invalid.ts';

export interface RpmEvr {
  readonly epoch: string | undefined;
  readonly version: string;
  readonly release: string | undefined;
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isSegment = (c: string): boolean => isDigit(c) || isAlpha(c) || c === '~' || c === '^';

/** The end of the run of `c`'s kind (digits or letters) that starts at `from`. */
function runEnd(text: string, from: number, digits: boolean): number {
  let i = from;
  while (i < text.length && (digits ? isDigit(text.charAt(i)) : isAlpha(text.charAt(i)))) i++;
  return i;
}

function compareNumeric(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x.length !== y.length) return x.length > y.length ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `~` and `^` at the current positions: a decided result, 0 to step over both, or undefined if neither. */
function compareMarks(c1: string, c2: string): number | undefined {
  if (c1 === '~' || c2 === '~') return c1 !== '~' ? 1 : c2 !== '~' ? -1 : 0;
  if (c1 === '^' || c2 === '^') {
    if (c1 === '') return -1;
    if (c2 === '') return 1;
    return c1 !== '^' ? 1 : c2 !== '^' ? -1 : 0;
  }
  return undefined;
}

/** rpmvercmp: negative, zero or positive. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isSegment(a.charAt(i))) i++;
    while (j < b.length && !isSegment(b.charAt(j))) j++;
    const mark = compareMarks(a.charAt(i), b.charAt(j));
    if (mark !== undefined) {
      if (mark !== 0) return mark;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a.charAt(i));
    const endA = runEnd(a, i, numeric);
    const endB = runEnd(b, j, numeric);
    if (endB === j) return numeric ? 1 : -1;
    const x = a.slice(i, endA);
    const y = b.slice(j, endB);
    const rc = numeric ? compareNumeric(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (rc !== 0) return rc;
    i = endA;
    j = endB;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** Splits [epoch:]version[-release] as rpm's parseEVR: the epoch is a leading digit run ended by `:`. */
export function parseRpmEvr(evr: string): RpmEvr {
  if (evr === '') throw invalidVersion('RPM', evr, 'the version is empty');
  const digits = /^[0-9]*/.exec(evr)![0].length;
  const hasEpoch = evr.charAt(digits) === ':';
  const rest = hasEpoch ? evr.slice(digits + 1) : evr;
  const cut = rest.lastIndexOf('-');
  return {
    epoch: hasEpoch ? evr.slice(0, digits) || '0' : undefined,
    version: cut >= 0 ? rest.slice(0, cut) : rest,
    release: cut >= 0 ? rest.slice(cut + 1) : undefined,
  };
}

/** rpm's compare_values: a missing part sorts before a present one. */
function compareValues(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  return rpmvercmp(a, b);
}

/** RPM's version order over [epoch:]version[-release] strings (rpm.labelCompare). */
export const rpmOrder: VersionCompare = (a, b) => {
  const x = parseRpmEvr(a);
  const y = parseRpmEvr(b);
  return (
    rpmvercmp(x.epoch ?? '0', y.epoch ?? '0') ||
    compareValues(x.version, y.version) ||
    compareValues(x.release, y.release)
  );
};
