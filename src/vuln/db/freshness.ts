// The freshness policy of a vulnerability database, in the shape of the trust roots' (docs/trust.md):
// a database is judged by its signed build time. Within --max-age (default 7 days) it is fresh; in the
// last two days before that (or the last half, for a max age under four days) it warns; after, it is
// refused, unless a break-glass (trust/freshness.ts: a reason and a deadline at most 14 days ahead) is
// recorded. A build time in the future (beyond an hour of clock skew) is refused too: it would win
// every later rollback check.
import { AirlockError } from '../../errors.ts';
import { type BreakGlass, validateBreakGlass } from '../../trust/freshness.ts';

export const DEFAULT_MAX_AGE_DAYS = 7;
export const MAX_MAX_AGE_DAYS = 365;
const DAY = 86_400_000;
const CLOCK_SKEW = 3_600_000;

export type FreshnessState = 'ok' | 'warn' | 'expired';

export interface Age {
  readonly state: FreshnessState;
  readonly ageDays: number;
  /** When the database stops being accepted: built + max age. */
  readonly deadline: string;
  readonly daysLeft: number;
}

export function warnDays(maxAgeDays: number): number {
  return Math.min(2, maxAgeDays / 2);
}

const tenths = (n: number) => Math.floor(n * 10) / 10;

/** How old a database built at `built` is at `now`, judged against `maxAgeDays`. */
export function judgeAge(built: string, now: Date, maxAgeDays: number): Age {
  const builtAt = new Date(built).getTime();
  const deadline = builtAt + maxAgeDays * DAY;
  const daysLeft = (deadline - now.getTime()) / DAY;
  const state: FreshnessState = daysLeft <= 0 ? 'expired' : daysLeft < warnDays(maxAgeDays) ? 'warn' : 'ok';
  return {
    state,
    ageDays: tenths((now.getTime() - builtAt) / DAY),
    deadline: new Date(deadline).toISOString(),
    daysLeft: tenths(daysLeft),
  };
}

/** --max-age DAYS: a whole number of days in [1, 365]. */
export function checkMaxAge(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_MAX_AGE_DAYS)
    throw new AirlockError('E_USAGE', `--max-age takes whole days from 1 to ${MAX_MAX_AGE_DAYS}, got ${days}`);
  return days;
}

/**
 * The freshness verdict on importing a database built at `built`: its age, or E_VULNDB_STALE. An
 * expired database is accepted only under a valid break-glass (`accepted` says so).
 */
export function applyVulnDbFreshness(
  built: string,
  now: Date,
  maxAgeDays: number,
  breakGlass?: BreakGlass,
  staleHint?: string,
): Age & { readonly acceptedByBreakGlass: boolean } {
  if (breakGlass) validateBreakGlass(breakGlass, now);
  if (new Date(built).getTime() > now.getTime() + CLOCK_SKEW)
    throw new AirlockError('E_VULNDB_STALE', `the database says it was built at ${built}, in the future`, {
      hint:
        'check the clocks of the build machine and of this one: a future build time would refuse ' +
        'every later database',
      details: { built, now: now.toISOString() },
    });
  const age = judgeAge(built, now, maxAgeDays);
  if (age.state !== 'expired') return { ...age, acceptedByBreakGlass: false };
  if (breakGlass) return { ...age, acceptedByBreakGlass: true };
  throw new AirlockError(
    'E_VULNDB_STALE',
    `the database was built at ${built}, ${age.ageDays} days ago: older than the maximum age of ${maxAgeDays} days`,
    {
      hint:
        staleHint ??
        'build a fresh one on the connected side (airlock vulndb build) and carry it across; if that cannot ' +
          'happen in time, --break-glass --reason TEXT [--until TIME] accepts it for at most 14 days (recorded)',
      details: { built, now: now.toISOString(), maxAgeDays, deadline: age.deadline },
    },
  );
}
