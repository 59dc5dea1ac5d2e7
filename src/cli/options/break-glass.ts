// The break-glass group of the imports that judge freshness (trust import, vulndb import): accept what
// is too old, for a reason that is recorded, until a deadline (default 7 days, at most 14: checked by
// trust/freshness.ts validateBreakGlass against the clock).
import { AirlockError } from '../../errors.ts';
import type { BreakGlass } from '../../trust/freshness.ts';
import type { Flags, FlagSpecs } from '../args.ts';
import { parseTime } from '../time-flag.ts';

const DEFAULT_BREAK_GLASS_DAYS = 7;

export function breakGlassFlags(what: string) {
  return {
    'break-glass': { type: 'boolean', description: `Accept ${what} (recorded, time-boxed)` },
    reason: { type: 'string', value: 'TEXT', description: 'Why break-glass is needed (required with --break-glass)' },
    until: {
      type: 'string',
      value: 'TIME',
      description: 'Break-glass deadline, at most 14 days ahead (default 7 days)',
    },
  } as const satisfies FlagSpecs;
}

/** --break-glass --reason TEXT [--until TIME], or undefined; --reason and --until alone are E_USAGE. */
export function breakGlassOption(flags: Flags, now: Date): BreakGlass | undefined {
  if (!flags.bool('break-glass')) {
    if (flags.has('reason') || flags.has('until'))
      throw new AirlockError('E_USAGE', '--reason and --until belong to --break-glass');
    return undefined;
  }
  const reason = flags.string('reason') ?? '';
  const until = flags.has('until')
    ? parseTime(flags.string('until') ?? '', '--until')
    : new Date(now.getTime() + DEFAULT_BREAK_GLASS_DAYS * 86_400_000);
  return { reason, until };
}
