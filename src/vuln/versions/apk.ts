// Alpine's version order as apk-tools 2 (2.14, src/version.c) compares versions — the apk-tools line
// Alpine v3.x releases have long shipped, and the order their advisories (OSV `Alpine:v3.x`, secdb) were
// written in: digits{.digits}[letter[digits]]{_suffix[digits]}[-rN]. A token stream is read with the
// kind of the next token decided by the character that starts it; the streams are compared value by
// value while their kinds agree; when the kinds part, the version that goes on is newer unless it goes
// on with a pre-release suffix (or one apk does not know). A later number with leading zeros weighs
// less than one without (`1.05` < `1.5`); numbers of 18 or more digits make the rest malformed.
//
// apk-tools 3 (v3.0) reads digits after the letter (`5.7.1p1`) as malformed and so calls
// `5.7.1p1-r0` and `5.7.1p1-r1` equal; real Alpine versions are written like that, so this order is
// the one kept here for Alpine-family ecosystems (in osv-scalibr's 13,979 vectors drawn from real Alpine
// advisories, 32 come out equal under apk-tools 3's rules; none under these).
import type { VersionCompare } from '../types.ts';
import { invalidVersion } from './invalid.ts';

const T = { INVALID: -1, DIGIT_OR_ZERO: 0, DIGIT: 1, LETTER: 2, SUFFIX: 3, SUFFIX_NO: 4, REVISION_NO: 5, END: 6 };
const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc'];
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p'];

interface Stream {
  readonly text: string;
  pos: number;
  type: number;
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isLower = (c: string): boolean => c >= 'a' && c <= 'z';

/** The kind of the token at the cursor, stepping over its separator (apk's next_token). */
function nextType(s: Stream): void {
  const c = s.text.charAt(s.pos);
  let n = T.INVALID;
  if (c === '') n = T.END;
  else if ((s.type === T.DIGIT || s.type === T.DIGIT_OR_ZERO) && isLower(c)) n = T.LETTER;
  else if (s.type === T.LETTER && isDigit(c)) n = T.DIGIT;
  else if (s.type === T.SUFFIX && isDigit(c)) n = T.SUFFIX_NO;
  else {
    if (c === '.') n = T.DIGIT_OR_ZERO;
    else if (c === '_') n = T.SUFFIX;
    else if (c === '-' && s.text.charAt(s.pos + 1) === 'r') {
      n = T.REVISION_NO;
      s.pos++;
    }
    s.pos++;
  }
  const allowedBackStep =
    (n === T.DIGIT_OR_ZERO && s.type === T.DIGIT) ||
    (n === T.SUFFIX && s.type === T.SUFFIX_NO) ||
    (n === T.DIGIT && s.type === T.LETTER);
  s.type = n < s.type && !allowedBackStep ? T.INVALID : n;
}

/** The suffix at the cursor: its weight (pre-releases negative) and length, or undefined. */
function suffixAt(text: string, pos: number): [bigint, number] | undefined {
  const pre = PRE_SUFFIXES.findIndex((x) => text.startsWith(x, pos));
  if (pre >= 0) return [BigInt(pre - PRE_SUFFIXES.length), PRE_SUFFIXES[pre]!.length];
  const post = POST_SUFFIXES.findIndex((x) => text.startsWith(x, pos));
  return post >= 0 ? [BigInt(post), POST_SUFFIXES[post]!.length] : undefined;
}

/** The value of the token at the cursor, moving past it (apk's get_token); -1 with INVALID. */
function token(s: Stream): bigint {
  if (s.pos >= s.text.length) {
    s.type = T.END;
    return 0n;
  }
  let length = 0;
  let value = 0n;
  let then: number | undefined;
  if (s.type === T.DIGIT_OR_ZERO && s.text.charAt(s.pos) === '0') {
    // Leading zeros: worth minus the count of the zeros after the first, and the run is read again as a number.
    while (s.text.charAt(s.pos + length + 1) === '0') length++;
    value = BigInt(-length);
    then = T.DIGIT;
  } else if ([T.DIGIT_OR_ZERO, T.DIGIT, T.SUFFIX_NO, T.REVISION_NO].includes(s.type)) {
    while (isDigit(s.text.charAt(s.pos + length)))
      value = value * 10n + BigInt(s.text.charCodeAt(s.pos + length++) - 48);
    if (length >= 18) return invalid(s);
  } else if (s.type === T.LETTER) {
    value = BigInt(s.text.charCodeAt(s.pos));
    length = 1;
  } else {
    const suffix = s.type === T.SUFFIX ? suffixAt(s.text, s.pos) : undefined;
    if (suffix === undefined) return invalid(s);
    [value, length] = suffix;
  }
  s.pos += length;
  if (s.pos >= s.text.length) s.type = T.END;
  else if (then !== undefined) s.type = then;
  else nextType(s);
  return value;
}

function invalid(s: Stream): bigint {
  s.type = T.INVALID;
  return -1n;
}

/** Alpine's version order (apk-tools 2). */
export const apkOrder: VersionCompare = (a, b) => {
  for (const v of [a, b]) if (!/^[0-9]/.test(v)) throw invalidVersion('Alpine', v, 'it does not start with a number');
  const x: Stream = { text: a, pos: 0, type: T.DIGIT };
  const y: Stream = { text: b, pos: 0, type: T.DIGIT };
  let av = 0n;
  let bv = 0n;
  while (x.type === y.type && x.type !== T.END && x.type !== T.INVALID && av === bv) {
    av = token(x);
    bv = token(y);
  }
  if (av !== bv) return av < bv ? -1 : 1;
  if (x.type === y.type) return 0;
  // The one that goes on is newer, unless it goes on with a pre-release (or unknown) suffix.
  if (x.type === T.SUFFIX && token({ ...x }) < 0n) return -1;
  if (y.type === T.SUFFIX && token({ ...y }) < 0n) return 1;
  return x.type > y.type ? -1 : 1;
};
