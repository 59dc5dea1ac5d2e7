// `airlock vulndb status`: age and freshness of the installed vulnerability databases, for people and
// monitoring, shaped as `airlock trust status` (the same flags, levels and exit codes: monitoring-status.ts).
import { LEVELS } from '../../../trust/status.ts';
import { validateVulnDbName } from '../../../vuln/db/install.ts';
import { type VulnDbStatus, vulnDbPrometheus, vulnDbStatus } from '../../../vuln/db/status.ts';
import type { Command, CommandContext } from '../../command.ts';
import { paintLevel, runStatusReport, statusFlags } from '../../monitoring-status.ts';

function printStatus(ctx: CommandContext, s: VulnDbStatus): void {
  const head = `${ctx.out.paint('bold', s.name)}  ${paintLevel(ctx, s.level, LEVELS[s.level])}`;
  if (s.problem) {
    ctx.out.info(`${head}  ${s.summary}`);
    return;
  }
  ctx.out.info(`${head}  built ${s.built}, imported ${s.importedAt}, ${s.records} records`);
  ctx.out.info(
    `  age ${s.ageDays} days of ${s.maxAgeDays}; acceptable until ${s.deadline}  ` +
      paintLevel(ctx, s.level, s.state ?? ''),
  );
  if (s.breakGlass)
    ctx.out.info(`  ${paintLevel(ctx, 2, 'break-glass')} until ${s.breakGlass.until}: ${s.breakGlass.reason}`);
}

export const vulndbStatusCommand: Command = {
  name: 'vulndb status',
  summary: 'Age and freshness of the installed vulnerability databases, for humans and monitoring',
  usage: '[--name NAME] [--check] [--prometheus FILE] [--at TIME]',
  description:
    'Levels: OK within the maximum age, WARNING in its last two days, CRITICAL after (or for any\n' +
    'break-glass install, or a database changed since import). --check prints one line and exits\n' +
    '0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin convention, for Nagios/Icinga/cron).',
  flags: statusFlags('database', 'age'),
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock vulndb status', description: 'Human report' },
    { command: 'airlock vulndb status --check', description: 'From a Nagios/Icinga check or cron' },
    {
      command: 'airlock vulndb status --prometheus /var/lib/node_exporter/textfile/airlock-vulndb.prom',
      description: 'Expose gauges to Prometheus',
    },
  ],
  run: (ctx) =>
    runStatusReport(ctx, {
      label: 'VULNDB',
      what: 'vulnerability database',
      listKey: 'databases',
      use: 'scanning',
      installCommand: 'airlock vulndb import',
      validateName: validateVulnDbName,
      statuses: (names, at) => vulnDbStatus(ctx.stateDir, at, names),
      prometheus: vulnDbPrometheus,
      print: printStatus,
    }),
};
