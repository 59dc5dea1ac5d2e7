// The freshness policy for a mirrored trust root (docs/trust.md). Signatures, thresholds, hashes and
// lengths are checked elsewhere, always, whatever the time. Here only expiry is judged:
//   - root, targets: must be unexpired now;
//   - timestamp, snapshot (short-lived online roles): must be unexpired at now − grace, grace being the
//     accepted transfer latency across the gap (default 30 days);
//   - break-glass accepts expired roles until a deadline at most 14 days ahead, and says so loudly.
import { AirlockError } from '../errors.ts';
import type { RoleState, TopLevelRole } from './tuf-verify.ts';

export const DEFAULT_GRACE_DAYS = 30;
export const MAX_BREAK_GLASS_DAYS = 14;
const DAY = 86_400_000;

const LATENCY_TOLERANT: ReadonlySet<TopLevelRole> = new Set(['timestamp', 'snapshot']);

export interface BreakGlass {
  readonly reason: string;
  readonly until: Date;
}

export interface FreshnessPolicy {
  readonly graceDays: number;
  readonly breakGlass?: BreakGlass;
}

export type RoleFreshness = RoleState & {
  readonly status: 'fresh' | 'within-grace' | 'expired-accepted-by-break-glass';
  /** The last instant this role is acceptable under the policy (expiry, plus grace where it applies). */
  readonly acceptableUntil: string;
};

export function acceptableUntil(role: RoleState, graceDays: number): Date {
  const expires = new Date(role.expires);
  return LATENCY_TOLERANT.has(role.role) ? new Date(expires.getTime() + graceDays * DAY) : expires;
}

function days(ms: number): string {
  const d = Math.abs(ms) / DAY;
  return d < 1 ? `${Math.round(d * 24)} hours` : `${Math.round(d)} days`;
}

/** Checks a break-glass request against the clock: a reason, and a deadline in (now, now + 14 days]. */
export function validateBreakGlass(bg: BreakGlass, now: Date): void {
  if (!bg.reason.trim()) throw new AirlockError('E_USAGE', '--break-glass needs --reason TEXT: it is recorded');
  if (Number.isNaN(bg.until.getTime())) throw new AirlockError('E_USAGE', '--until is not a date');
  if (bg.until.getTime() <= now.getTime()) throw new AirlockError('E_USAGE', '--until must be in the future');
  if (bg.until.getTime() > now.getTime() + MAX_BREAK_GLASS_DAYS * DAY) {
    throw new AirlockError(
      'E_USAGE',
      `--until may be at most ${MAX_BREAK_GLASS_DAYS} days ahead: break-glass is for bridging, not for living with`,
    );
  }
}

/** Judges each role at `now`; throws E_TUF_EXPIRED naming the first role the policy refuses. */
export function applyFreshness(roles: readonly RoleState[], now: Date, policy: FreshnessPolicy): RoleFreshness[] {
  if (policy.breakGlass) validateBreakGlass(policy.breakGlass, now);
  return roles.map((role) => {
    const expires = new Date(role.expires);
    const until = acceptableUntil(role, policy.graceDays);
    const base = { ...role, acceptableUntil: until.toISOString() };
    // TUF counts a role as expired from its expiry instant on (now >= expires).
    if (now.getTime() < expires.getTime()) return { ...base, status: 'fresh' as const };
    if (now.getTime() < until.getTime()) return { ...base, status: 'within-grace' as const };
    if (policy.breakGlass) return { ...base, status: 'expired-accepted-by-break-glass' as const };
    const tolerant = LATENCY_TOLERANT.has(role.role);
    throw new AirlockError(
      'E_TUF_EXPIRED',
      tolerant
        ? `${role.role} v${role.version} expired at ${role.expires}, ` +
            `${days(now.getTime() - expires.getTime())} ago: beyond the accepted transfer latency of ` +
            `${policy.graceDays} days, the mirror is stale`
        : `${role.role} v${role.version} expired at ${role.expires} (${days(now.getTime() - expires.getTime())} ago)`,
      {
        // What to do depends on the command (mirror on the connected side, import on the other): each
        // says it with its own flags.
        details: {
          role: role.role,
          version: role.version,
          expires: role.expires,
          now: now.toISOString(),
          latencyTolerant: tolerant,
        },
      },
    );
  });
}
