// `airlock audit show|verify|export`: read and check this machine's audit trail ($AIRLOCK_HOME/audit).
// Every reader recomputes the log first (verifyAuditLog): events are never shown as if they were
// trustworthy when the log they come from does not check out.
import { resolve } from 'node:path';
import type { AuditEntry, AuditVerification } from '../../audit/audit-log.ts';
import { auditDir, verifyAuditLog } from '../../audit/audit-log.ts';
import { AirlockError } from '../../errors.ts';
import { writeFileAtomic } from '../../files/atomic-write.ts';
import { readFileBounded } from '../../files/read-file.ts';
import { MAX_NOTE_BYTES } from '../../log/note.ts';
import type { Command, CommandContext } from '../command.ts';
import { outFile, outFileFlags } from '../options/out-file.ts';
import { EVENT_FILTER_FLAGS, eventFilter, selectEvents } from '../options/event-filter.ts';

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
    'in $AIRLOCK_HOME/audit; see docs/audit.md.',
  flags: EVENT_FILTER_FLAGS,
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock audit show --since 24h', description: 'What was decided in the last day' },
    { command: 'airlock audit show --action transfer.import --result refused', description: 'Refused imports' },
    { command: 'airlock audit show --json | jq ".events[] | select(.actor == \\"alice\\")"', description: 'As JSON' },
  ],
  async run(ctx) {
    const filter = eventFilter(ctx);
    const v = await verifyAuditLog(ctx.stateDir);
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
      `${events.length} of ${v.size} events in ${auditDir(ctx.stateDir)} (log ${v.origin}` +
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

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  summary: 'Recompute the audit trail: every event, the tree, and its signed checkpoints',
  usage: '[--since CHECKPOINT_FILE] [--out FILE]',
  description:
    'Re-hashes every event against the hash the log recorded at its index, rebuilds the Merkle tree from\n' +
    'the events alone and compares its root with the signed checkpoint, and checks consistency with the\n' +
    'checkpoint kept beside the database and, with --since, with one saved earlier (ideally somewhere\n' +
    'else: a transfer package, another machine). Any edited, removed or reordered event is reported with\n' +
    'its index: E_LOG_CORRUPT, exit 1. --out saves the verified checkpoint for the next --since; a --since\n' +
    'file that is no checkpoint at all is E_INPUT_MALFORMED (exit 3), one that does not verify a verdict.\n' +
    'Imports whose intent is recorded without their completion (stopped half-way) are listed as warnings.',
  flags: {
    since: {
      type: 'string',
      value: 'FILE',
      description: 'A checkpoint of this audit log saved earlier: the log must still extend it',
    },
    ...outFileFlags('Save the verified checkpoint (for a later --since)'),
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'airlock audit verify --out /media/usb/audit.checkpoint',
      description: 'Check, and take the checkpoint away',
    },
    {
      command: 'airlock audit verify --since /media/usb/audit.checkpoint',
      description: 'Later: nothing before it was rewritten',
    },
  ],
  async run(ctx) {
    const sinceFlag = ctx.flags.string('since');
    const sincePath = sinceFlag === undefined ? undefined : resolve(ctx.cwd, sinceFlag);
    const since =
      sincePath === undefined
        ? undefined
        : (await readFileBounded(sincePath, MAX_NOTE_BYTES, 'a checkpoint')).toString('utf8');
    const v = await verifyAuditLog(ctx.stateDir, since === undefined ? {} : { since });
    const problems = v.problems.map((p) => (p.index === undefined ? p.problem : `event ${p.index}: ${p.problem}`));
    if (!v.ok) {
      for (const p of problems) ctx.out.info(`  ${p}`);
      throw new AirlockError(
        'E_LOG_CORRUPT',
        `the audit log in ${auditDir(ctx.stateDir)} does not verify: ${problems.length} problem(s)`,
        {
          details: { problems: v.problems },
          hint: 'keep a copy of the audit directory as it is now: it is the evidence',
        },
      );
    }
    const saved = outFile(ctx);
    const out = saved?.path;
    if (saved) await writeFileAtomic(saved.path, v.checkpoint, { overwrite: saved.overwrite });
    ctx.out.info(
      `Audit log ${v.origin}: ${v.size} events verified (every event re-hashed, tree rebuilt, ` +
        `signed checkpoint matches${since === undefined ? '' : `, extends ${sinceFlag}`})`,
    );
    ctx.out.info(`  key ${v.keyFingerprint} (as found beside the log: compare it with the one you recorded)`);
    if (out) ctx.out.info(`  checkpoint saved to ${out}`);
    // Not tampering, but state to act on: an import that recorded its intent and never its completion.
    const { incompleteImports } = await import('../../transfer/import-journal.ts');
    const incomplete = incompleteImports(v.events);
    for (const i of incomplete) {
      ctx.out.warn(
        `incomplete import ${i.importId}: channel ${i.channel} package #${i.number}, intent ` +
          `recorded at event ${i.index} (${i.time}), ${i.tags.length} tag(s); \`airlock import ` +
          `--recover --registry HOST\` finishes it`,
      );
    }
    return {
      json: {
        ok: true,
        origin: v.origin,
        keyFingerprint: v.keyFingerprint,
        size: v.size,
        checkpoint: v.checkpoint,
        incompleteImports: incomplete,
        ...(sincePath === undefined ? {} : { since: sincePath }),
        ...(out ? { out } : {}),
      },
    };
  },
};

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
    const v = await verifyAuditLog(ctx.stateDir);
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
      ctx.out.info(`${lines.length} events written to ${out}`);
      return { json: { ok: true, events: lines.length, out } };
    }
    if (ctx.out.json)
      return { json: { ok: true, events: events.map((e) => ({ index: e.index, origin: v.origin, ...e.event })) } };
    for (const line of lines) ctx.out.data(line);
    return {};
  },
};
