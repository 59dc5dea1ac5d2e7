// `airlock audit show`: this machine's audit trail, checked first, one line per event.
import type { AuditEntry, AuditVerification } from '../../../audit/audit-log.ts';
import { verifyAuditLog } from '../../../audit/audit-log.ts';
import { sharedAuditTrail } from '../../options/audit-url.ts';
import type { Command, CommandContext } from '../../command.ts';
import { EVENT_FILTER_FLAGS, eventFilter, selectEvents } from '../../options/event-filter.ts';
import { counted } from '../../../text.ts';

function warnIfBroken(ctx: CommandContext, v: AuditVerification): void {
  if (v.ok) return;
  ctx.out.warn(
    `the audit log does not verify (${v.problems.length} problem(s)): run \`airlock audit ` +
      `verify\` — events below may have been altered`,
  );
}

function subjectsText(entry: AuditEntry): string {
  return entry.event.subjects.map((s) => (s.digest ? `${s.name}@${s.digest.slice(0, 19)}…` : s.name)).join(', ');
}

export const auditShowCommand: Command = {
  name: 'audit show',
  summary: "This machine's audit trail: every security decision airlock made here",
  usage: '[--since TIME|DURATION] [--action ACTION] [--result ok|refused|failed] [--json]',
  description:
    'One line per event: index, time, result, action, subjects, and the reason when not ok. The log is\n' +
    'checked first; if it does not verify, a warning says so (details: airlock audit verify). State lives\n' +
    'in $AIRLOCK_HOME/audit, or in the PostgreSQL database AIRLOCK_AUDIT_URL names; see docs/audit.md.',
  flags: EVENT_FILTER_FLAGS,
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock audit show --since 24h', description: 'What was decided in the last day' },
    { command: 'airlock audit show --action transfer.import --result refused', description: 'Refused imports' },
    { command: 'airlock audit show --json | jq ".events[] | select(.actor == \\"alice\\")"', description: 'As JSON' },
  ],
  async run(ctx) {
    const filter = eventFilter(ctx);
    const shared = await sharedAuditTrail(ctx.env, 'read');
    const v = await verifyAuditLog(ctx.stateDir, shared ? { shared } : {});
    warnIfBroken(ctx, v);
    const events = selectEvents(v.events, filter);
    for (const e of events) {
      const { time, result, action, reason, actor } = e.event;
      const colour = result === 'ok' ? 'green' : result === 'refused' ? 'red' : 'yellow';
      ctx.out.data(
        `${String(e.index).padStart(6)}  ${time}  ${ctx.out.paint(colour, result.padEnd(7))}  ` +
          `${action.padEnd(22)} ${actor}  ${subjectsText(e)}${reason ? `  (${reason})` : ''}`,
      );
    }
    ctx.out.info(
      `${events.length} of ${counted(v.size, 'event')} in ${v.where} (log ${v.origin}` +
        `${v.ok ? ', verified' : ', DOES NOT VERIFY'})`,
    );
    return {
      json: {
        ok: v.ok,
        origin: v.origin,
        size: v.size,
        events: events.map((e) => ({ index: e.index, ...e.event })),
        problems: v.problems,
      },
    };
  },
};
