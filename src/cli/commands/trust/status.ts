// `airlock trust status`: expiry and freshness of the installed trust roots, for people and monitoring.
import { isAirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { validateTrustName } from '../../../trust/install.ts';
import { installedTrustStatuses, overallLevel } from '../../../trust/installed-status.ts';
import { LEVELS, type Level, toPrometheus, type TrustRootStatus } from '../../../trust/status.ts';
import type { Command, CommandContext } from '../../command.ts';
import { parseTime } from '../../time-flag.ts';

function printStatus(ctx: CommandContext, s: TrustRootStatus): void {
  const paint = (level: Level, text: string) =>
    ctx.out.paint(level === 0 ? 'green' : level === 1 ? 'yellow' : 'red', text);
  if (s.problem) {
    ctx.out.info(`${ctx.out.paint('bold', s.name)}  ${paint(s.level, LEVELS[s.level])}  ${s.summary}`);
    return;
  }
  ctx.out.info(`${ctx.out.paint('bold', s.name)}  ${paint(s.level, LEVELS[s.level])}  imported ${s.importedAt}`);
  for (const r of s.roles)
    ctx.out.info(
      `  ${r.role.padEnd(10)} v${String(r.version).padEnd(5)} expires ${r.expires}  acceptable ` +
        `until ${r.deadline}  ${paint(r.level, LEVELS[r.level])}`,
    );
  if (s.breakGlass) ctx.out.info(`  ${paint(2, 'break-glass')} until ${s.breakGlass.until}: ${s.breakGlass.reason}`);
  for (const a of s.authorities)
    ctx.out.info(
      `  ${a.kind.padEnd(6)} ${a.name}  ${a.start ?? '-'} .. ${a.end ?? 'open'}${a.activeAt ? '' : '  (not active)'}`,
    );
}

export const trustStatusCommand: Command = {
  name: 'trust status',
  summary: 'Expiry and freshness of the installed trust roots, for humans and monitoring',
  usage: '[--name NAME] [--check] [--prometheus FILE] [--at TIME]',
  description:
    'Levels: timestamp/snapshot WARNING 7 days before grace runs out, CRITICAL after; root/targets WARNING\n' +
    'under 30 days, CRITICAL under 7; any break-glass install is CRITICAL. --check prints one line and exits\n' +
    '0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin convention, for Nagios/Icinga/cron).',
  flags: {
    name: { type: 'string', value: 'NAME', description: 'Only this trust root' },
    check: { type: 'boolean', description: 'One status line and a monitoring-plugin exit code' },
    prometheus: { type: 'string', value: 'FILE', description: 'Write a node-exporter textfile with expiry gauges' },
    at: { type: 'string', value: 'TIME', description: 'Evaluate at another instant (audits: "was this fine then?")' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock trust status', description: 'Human report' },
    { command: 'airlock trust status --check', description: 'From a Nagios/Icinga check or cron' },
    {
      command: 'airlock trust status --prometheus /var/lib/node_exporter/textfile/airlock.prom',
      description: 'Expose gauges to Prometheus',
    },
  ],
  async run(ctx) {
    const at = ctx.flags.has('at') ? parseTime(ctx.flags.string('at') ?? '', '--at') : ctx.now();
    const only = ctx.flags.string('name');
    const check = ctx.flags.bool('check');
    const checkLine = (level: Level, detail: string) => {
      if (!ctx.out.json) ctx.io.stdout.write(`AIRLOCK TRUST ${LEVELS[level]} - ${detail}\n`);
    };
    let statuses: TrustRootStatus[];
    try {
      statuses = await installedTrustStatuses(ctx.stateDir, only ? [validateTrustName(only)] : undefined, at);
    } catch (err) {
      // A monitoring check answers with its own levels: what airlock cannot read is UNKNOWN, not exit 1.
      if (!check || !isAirlockError(err) || err.code === 'E_USAGE') throw err;
      checkLine(3, `${err.message} [${err.code}]`);
      return { json: { level: LEVELS[3], at: at.toISOString(), roots: [], error: err.toJSON() }, exitCode: 3 };
    }
    const level = overallLevel(statuses);
    const prom = ctx.flags.string('prometheus');
    if (prom) await writeFileAtomic(prom, toPrometheus(statuses), { overwrite: true });
    const json = { level: LEVELS[level], at: at.toISOString(), roots: statuses };
    if (check) {
      checkLine(
        level,
        statuses.length === 0
          ? `no trust root installed${only ? ` as '${only}'` : ''}`
          : statuses.map((s) => `${s.name}: ${s.summary}`).join('; '),
      );
      return { json, exitCode: level };
    }
    if (statuses.length === 0)
      ctx.out.info(`No trust root installed in ${ctx.stateDir}; see 'airlock trust import --help'.`);
    for (const s of statuses) printStatus(ctx, s);
    // A broken install is no report to pass over: the command fails (exit 1) once it has shown it.
    const broken = statuses.filter((s) => s.problem);
    if (broken.length > 0)
      ctx.out.error(
        `trust root${broken.length > 1 ? 's' : ''} ${broken.map((s) => `'${s.name}'`).join(', ')}` +
          ` cannot be used; verification with ${broken.length > 1 ? 'them' : 'it'} is refused`,
      );
    return { json, exitCode: broken.length > 0 ? 1 : 0 };
  },
};
