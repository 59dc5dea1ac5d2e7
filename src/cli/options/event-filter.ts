// The event filter group of audit show and audit export: events since a time or for a while back, of
// an action and its sub-actions, with a result.
import type { AuditEntry } from '../../audit/audit-log.ts';
import { AirlockError } from '../../errors.ts';
import type { CommandContext } from '../command.ts';
import type { FlagSpecs } from '../args.ts';
import { parseTime } from '../time-flag.ts';

export const EVENT_FILTER_FLAGS = {
  since: {
    type: 'string',
    value: 'TIME|DURATION',
    description: 'Only events at or after TIME (ISO 8601) or that long ago (90m, 24h, 7d)',
  },
  action: {
    type: 'string',
    value: 'ACTION',
    description: 'Only this action and its sub-actions (e.g. transfer, trust.import)',
  },
  result: { type: 'string', value: 'ok|refused|failed', description: 'Only events with this result' },
} as const satisfies FlagSpecs;

const DURATION = /^(\d{1,6})([smhd])$/;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * --since for events: an ISO 8601 time, or a duration back from now (90m, 24h, 7d) as journalctl and docker logs take.
 */
function sinceTime(value: string, now: Date): Date {
  const d = DURATION.exec(value);
  if (d) return new Date(now.getTime() - Number(d[1]) * (UNIT_MS[d[2] as string] as number));
  return parseTime(value, '--since');
}

export interface EventFilter {
  readonly since?: Date;
  readonly action?: string;
  readonly result?: string;
}

/** The filter the flags ask for; --since a duration counts back from the command's clock. */
export function eventFilter(ctx: CommandContext): EventFilter {
  const since = ctx.flags.string('since');
  const result = ctx.flags.string('result');
  if (result !== undefined && !['ok', 'refused', 'failed'].includes(result))
    throw new AirlockError('E_USAGE', `--result is ok, refused or failed, got '${result}'`);
  const action = ctx.flags.string('action');
  return {
    ...(since !== undefined ? { since: sinceTime(since, ctx.now()) } : {}),
    ...(action !== undefined ? { action } : {}),
    ...(result !== undefined ? { result } : {}),
  };
}

export function selectEvents(events: readonly AuditEntry[], filter: EventFilter): AuditEntry[] {
  return events.filter(({ event }) => {
    if (filter.since && !(Date.parse(event.time) >= filter.since.getTime())) return false;
    // An action filter matches the action and its sub-actions: `transfer` selects transfer.import too.
    if (filter.action && event.action !== filter.action && !event.action.startsWith(`${filter.action}.`)) return false;
    return !filter.result || event.result === filter.result;
  });
}
