// Whether one version of a package is inside one `affected[]` entry of an OSV record: the `IsVulnerable`
// evaluation of the OSV schema 1.7 (ossf/osv-schema docs/schema.md, "Evaluation"), step for step.
//   - in the `versions` list (string equality, as the pseudo-code's `v == version`), OR in any range;
//   - SEMVER ranges are ordered by SemVer 2 whatever the ecosystem; ECOSYSTEM ranges by the ecosystem's
//     order; GIT ranges are commits, not versions, and are not evaluated (their `versions` list stands
//     for them, as the schema recommends);
//   - a range counts only if the version is below one of its `limit` events (none: an implicit "*");
//   - its events are walked in version order: `introduced` ≤ v → affected, `fixed` ≤ v → not,
//     `last_affected` < v → not. `introduced: "0"` sorts before every version; a limit holding `*` is
//     infinity.
// A version either order cannot read makes the order throw E_VERSION_INVALID; unless another range says
// "affected", that propagates, so the matcher reports the record as unevaluable instead of missing it.
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { OsvAffected, OsvEvent, OsvRange, VersionCompare } from '../types.ts';

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

interface Event {
  readonly kind: Kind;
  readonly version: string;
}

function eventOf(e: OsvEvent): Event {
  if ('introduced' in e) return { kind: 'introduced', version: e.introduced };
  if ('fixed' in e) return { kind: 'fixed', version: e.fixed };
  if ('last_affected' in e) return { kind: 'last_affected', version: e.last_affected };
  return { kind: 'limit', version: e.limit };
}

/** `introduced: "0"`: before every version. */
function isZero(e: Event): boolean {
  return e.kind === 'introduced' && e.version === '0';
}

/** An event's place in the order, "0" first; ties keep the record's order (a stable sort). */
function compareEvents(order: VersionCompare): (a: Event, b: Event) => number {
  return (a, b) => {
    if (isZero(a) || isZero(b)) return isZero(a) === isZero(b) ? 0 : isZero(a) ? -1 : 1;
    return order(a.version, b.version);
  };
}

/** BeforeLimits: no limit events means an implicit "*"; otherwise v must be below one of them. */
function beforeLimits(version: string, events: readonly Event[], order: VersionCompare): boolean {
  const limits = events.filter((e) => e.kind === 'limit');
  if (limits.length === 0) return true;
  return limits.some((e) => e.version.includes('*') || order(version, e.version) < 0);
}

/** IncludedInRanges for one range, with the order its type names. */
function inRange(version: string, range: OsvRange, order: VersionCompare): boolean {
  const events = range.events.map(eventOf);
  if (!beforeLimits(version, events, order)) return false;
  let vulnerable = false;
  // Limit events take no part in the walk (and a `*` limit is no version to sort).
  for (const e of events.filter((x) => x.kind !== 'limit').sort(compareEvents(order))) {
    if (e.kind === 'introduced' && (isZero(e) || order(version, e.version) >= 0)) vulnerable = true;
    else if (e.kind === 'fixed' && order(version, e.version) >= 0) vulnerable = false;
    else if (e.kind === 'last_affected' && order(version, e.version) > 0) vulnerable = false;
  }
  return vulnerable;
}

/** The order a range is evaluated with, or undefined for GIT ranges (not evaluated). */
function orderOfRange(range: OsvRange, ecosystemOrder: VersionCompare, semverOrder: VersionCompare) {
  switch (range.type) {
    case 'SEMVER':
      return semverOrder;
    case 'ECOSYSTEM':
      return ecosystemOrder;
    case 'GIT':
      return undefined;
    default:
      // A type the schema does not define cannot be evaluated: say so rather than skip it.
      throw new AirlockError('E_INPUT_MALFORMED', `range type '${bounded(range.type, 40)}' is not one OSV defines`);
  }
}

/** Whether `version` is affected according to one `affected[]` entry (its package already matched). */
export function isAffected(
  version: string,
  affected: OsvAffected,
  ecosystemOrder: VersionCompare,
  semverOrder: VersionCompare,
): boolean {
  if (affected.versions.includes(version)) return true;
  // Every range is tried before an error is thrown: a range that says "affected" decides, even when
  // another one cannot be evaluated.
  let failure: unknown;
  for (const range of affected.ranges) {
    try {
      const order = orderOfRange(range, ecosystemOrder, semverOrder);
      if (order !== undefined && inRange(version, range, order)) return true;
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return false;
}

/** The `fixed` versions of an entry's evaluated ranges, for the report's FIXED-IN column. */
export function fixedVersions(affected: OsvAffected): string[] {
  return affected.ranges
    .filter((r) => r.type !== 'GIT')
    .flatMap((r) => r.events.flatMap((e) => ('fixed' in e ? [e.fixed] : [])));
}
