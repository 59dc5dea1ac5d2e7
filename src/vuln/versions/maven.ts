// Maven's version order: ComparableVersion of maven-artifact 3.8/3.9 (the two are the same code). A
// version is lower-cased and cut into items at `.`, at `-` (which opens a sub-list) and where digits
// meet letters (which also opens a sub-list; a letter run before digits is a qualifier, and `a`, `b`,
// `m` followed by digits mean alpha, beta, milestone). Trailing "null" items (0, the release qualifier,
// an empty list) are dropped from every list, so `1.0.0` = `1` and `1.0-alpha` = `1-alpha`. Items
// compare: numbers by value (any length); qualifiers by rank
// alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp < any other (by text);
// a number beats a qualifier and a list; a list beats a qualifier; a missing item is compared as null.
//
// Maven reads any string; only an empty version is refused here. Java counts non-ASCII digits (e.g.
// Arabic-Indic) as digits; here only 0-9 are.
import type { VersionCompare } from '../types.ts';
import { invalidVersion } from './invalid.ts';

/** A number (digits, leading zeros stripped), a qualifier (normalised) or a sub-list. */
type Item = { readonly number: string } | { readonly qualifier: string } | ItemList;
interface ItemList {
  readonly list: Item[];
}

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Readonly<Record<string, string>> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE = String(QUALIFIERS.indexOf(''));
const SHORT: Readonly<Record<string, string>> = { a: 'alpha', b: 'beta', m: 'milestone' };

function qualifier(text: string, followedByDigit: boolean): Item {
  const long = followedByDigit ? (SHORT[text] ?? text) : text;
  return { qualifier: ALIASES[long] ?? long };
}

function numberItem(digits: string): Item {
  return { number: digits.replace(/^0+/, '') };
}

/** ComparableVersion's comparableQualifier: the rank as text, or "7-" and the qualifier for unknown ones. */
function rank(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

const isNull = (item: Item): boolean =>
  'number' in item
    ? item.number === ''
    : 'qualifier' in item
      ? rank(item.qualifier) === RELEASE
      : item.list.length === 0;

/** Drops trailing null items, looking past non-empty sub-lists (ListItem.normalize). */
function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const item = list[i]!;
    if (isNull(item)) list.splice(i, 1);
    else if (!('list' in item)) break;
  }
}

/** Parses a version into its item tree (ComparableVersion.parseVersion). */
export function parseMavenVersion(version: string): ItemList {
  if (version === '') throw invalidVersion('Maven', version, 'the version is empty');
  const text = version.toLowerCase();
  const root: ItemList = { list: [] };
  const stack: ItemList[] = [root];
  let list = root;
  const open = () => {
    const sub: ItemList = { list: [] };
    list.list.push(sub);
    stack.push(sub);
    list = sub;
  };
  const item = (digit: boolean, s: string) => (digit ? numberItem(s) : qualifier(s, false));
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '.' || c === '-') {
      list.list.push(i === start ? { number: '' } : item(isDigit, text.slice(start, i)));
      start = i + 1;
      if (c === '-') open();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        if (list.list.length > 0) open();
        list.list.push(qualifier(text.slice(start, i), true));
        start = i;
        open();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.list.push(numberItem(text.slice(start, i)));
        start = i;
        open();
      }
      isDigit = false;
    }
  }
  if (text.length > start) {
    if (!isDigit && list.list.length > 0) open();
    list.list.push(item(isDigit, text.slice(start)));
  }
  while (stack.length > 0) normalize(stack.pop()!.list);
  return root;
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const textOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function compareNumbers(a: string, b: string): number {
  return a.length !== b.length ? sign(a.length - b.length) : textOrder(a, b);
}

/** One item against another or against null (a missing item), as each Item.compareTo does. */
function compareItem(a: Item, b: Item | undefined): number {
  if ('number' in a) {
    if (b === undefined) return a.number === '' ? 0 : 1;
    return 'number' in b ? compareNumbers(a.number, b.number) : 1;
  }
  if ('qualifier' in a) {
    if (b === undefined) return textOrder(rank(a.qualifier), RELEASE);
    return 'qualifier' in b ? textOrder(rank(a.qualifier), rank(b.qualifier)) : -1;
  }
  if (b === undefined) {
    for (const x of a.list) {
      const r = compareItem(x, undefined);
      if (r !== 0) return r;
    }
    return 0;
  }
  if ('number' in b) return -1;
  if ('qualifier' in b) return 1;
  return compareLists(a.list, b.list);
}

function compareLists(a: readonly Item[], b: readonly Item[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const l = a[i];
    const r = b[i];
    const result = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
    if (result !== 0) return result;
  }
  return 0;
}

/** Maven's version order (ComparableVersion). */
export const mavenOrder: VersionCompare = (a, b) => compareLists(parseMavenVersion(a).list, parseMavenVersion(b).list);
