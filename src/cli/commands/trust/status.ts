// `airlock trust status`: expiry and freshness of the installed trust roots, for people and monitoring.
import { validateTrustName } from '../../../trust/install.ts';
import { installedTrustStatuses } from '../../../trust/installed-status.ts';
import { LEVELS, type Level, toPrometheus, type TrustRootStatus } from '../../../trust/status.ts';
import type { Command, CommandContext } from '../../command.ts';
import { paintLevel, runStatusReport, statusFlags } from '../../monitoring-status.ts';

function printStatus(ctx: CommandContext, s: TrustRootStatus): void {
  const paint = (level: Level, text: string) => paintLevel(ctx, level, text);
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
  flags: statusFlags('trust root', 'expiry'),
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock trust status', description: 'Human report' },
    { command: 'airlock trust status --check', description: 'From a Nagios/Icinga check or cron' },
    {
      command: 'airlock trust status --prometheus /var/lib/node_exporter/textfile/airlock.prom',
      description: 'Expose gauges to Prometheus',
    },
  ],
  run: (ctx) =>
    runStatusReport(ctx, {
      label: 'TRUST',
      what: 'trust root',
      listKey: 'roots',
      use: 'verification',
      installCommand: 'airlock trust import',
      validateName: (name) => validateTrustName(name),
      statuses: (names, at) => installedTrustStatuses(ctx.stateDir, names, at),
      prometheus: toPrometheus,
      print: printStatus,
    }),
};
