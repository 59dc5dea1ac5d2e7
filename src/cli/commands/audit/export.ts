// `airlock audit export`: the audit trail as JSON lines for a SIEM, only when it verifies.
import { verifyAuditLog } from '../../../audit/audit-log.ts';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { sharedAuditTrail } from '../../options/audit-url.ts';
import type { Command } from '../../command.ts';
import { outFile, outFileFlags } from '../../options/out-file.ts';
import { EVENT_FILTER_FLAGS, eventFilter, selectEvents } from '../../options/event-filter.ts';
import { counted } from '../../../text.ts';

export const auditExportCommand: Command = {
  name: 'audit export',
  summary: 'The audit trail as JSON lines, for a SIEM',
  usage: '[--since TIME|DURATION] [--action ACTION] [--result ok|refused|failed] [--out FILE]',
  description:
    'One JSON object per line: the event (time, actor, host, tool, action, result, subjects, reason,\n' +
    'details) with its log index and origin. The log is verified first; when it does not verify, nothing\n' +
    'is exported (E_LOG_CORRUPT): a SIEM must not ingest events that may have been altered.',
  flags: {
    ...EVENT_FILTER_FLAGS,
    ...outFileFlags('Write to FILE instead of stdout'),
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'airlock audit export --since 24h >> /var/log/airlock-audit.jsonl',
      description: 'From cron, for the SIEM agent to ship',
    },
  ],
  async run(ctx) {
    const filter = eventFilter(ctx);
    const shared = await sharedAuditTrail(ctx.env, 'read');
    const v = await verifyAuditLog(ctx.stateDir, shared ? { shared } : {});
    if (!v.ok)
      throw new AirlockError(
        'E_LOG_CORRUPT',
        `the audit log does not verify (${v.problems.length} problem(s)); nothing exported`,
        { hint: 'airlock audit verify lists the problems' },
      );
    const events = selectEvents(v.events, filter);
    const lines = events.map((e) => JSON.stringify({ index: e.index, origin: v.origin, ...e.event }));
    const saved = outFile(ctx);
    if (saved) {
      const out = saved.path;
      await writeFileAtomic(out, lines.length ? `${lines.join('\n')}\n` : '', { overwrite: saved.overwrite });
      ctx.out.info(`${counted(lines.length, 'event')} written to ${out}`);
      return { json: { ok: true, events: lines.length, out } };
    }
    if (ctx.out.json)
      return { json: { ok: true, events: events.map((e) => ({ index: e.index, origin: v.origin, ...e.event })) } };
    for (const line of lines) ctx.out.data(line);
    return {};
  },
};
