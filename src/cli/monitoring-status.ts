// What `trust status` and `vulndb status` share: the flags (--name, --check, --prometheus, --at), the
// monitoring-plugin levels and exit codes (OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3), the one-line check
// output, the node-exporter textfile, and failing (exit 1) once a broken install has been shown.
import { isAirlockError } from '../errors.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { overallLevel } from '../trust/installed-status.ts';
import { LEVELS, type Level } from '../trust/status.ts';
import type { FlagSpecs } from './args.ts';
import type { CommandContext, CommandResult } from './command.ts';
import { parseTime } from './time-flag.ts';

export function statusFlags(what: string, gauges: string) {
  return {
    name: { type: 'string', value: 'NAME', description: `Only this ${what}` },
    check: { type: 'boolean', description: 'One status line and a monitoring-plugin exit code' },
    prometheus: { type: 'string', value: 'FILE', description: `Write a node-exporter textfile with ${gauges} gauges` },
    at: { type: 'string', value: 'TIME', description: 'Evaluate at another instant (audits: "was this fine then?")' },
  } as const satisfies FlagSpecs;
}

export interface InstalledStatus {
  readonly name: string;
  readonly level: Level;
  readonly summary: string;
  readonly problem?: { readonly code: string; readonly message: string };
}

export interface StatusReport<S extends InstalledStatus> {
  /** In the check line: AIRLOCK <label> OK - ... */
  readonly label: string;
  /** What one install is called in messages: 'trust root'. */
  readonly what: string;
  /** The key of the --json document's list: 'roots'. */
  readonly listKey: string;
  /** What is refused with a broken install: 'verification'. */
  readonly use: string;
  /** The command that installs one, for the empty report. */
  readonly installCommand: string;
  validateName(name: string): string;
  statuses(names: readonly string[] | undefined, at: Date): Promise<S[]>;
  prometheus(statuses: readonly S[]): string;
  print(ctx: CommandContext, status: S): void;
}

export async function runStatusReport<S extends InstalledStatus>(
  ctx: CommandContext,
  report: StatusReport<S>,
): Promise<CommandResult> {
  const at = ctx.flags.has('at') ? parseTime(ctx.flags.string('at') ?? '', '--at') : ctx.now();
  const only = ctx.flags.string('name');
  const check = ctx.flags.bool('check');
  const checkLine = (level: Level, detail: string) => {
    if (!ctx.out.json) ctx.io.stdout.write(`AIRLOCK ${report.label} ${LEVELS[level]} - ${detail}\n`);
  };
  let statuses: S[];
  try {
    statuses = await report.statuses(only ? [report.validateName(only)] : undefined, at);
  } catch (err) {
    // A monitoring check answers with its own levels: what airlock cannot read is UNKNOWN, not exit 1.
    if (!check || !isAirlockError(err) || err.code === 'E_USAGE') throw err;
    checkLine(3, `${err.message} [${err.code}]`);
    return {
      json: { level: LEVELS[3], at: at.toISOString(), [report.listKey]: [], error: err.toJSON() },
      exitCode: 3,
    };
  }
  const level = overallLevel(statuses);
  const prom = ctx.flags.string('prometheus');
  if (prom) await writeFileAtomic(prom, report.prometheus(statuses), { overwrite: true });
  const json = { level: LEVELS[level], at: at.toISOString(), [report.listKey]: statuses };
  if (check) {
    checkLine(
      level,
      statuses.length === 0
        ? `no ${report.what} installed${only ? ` as '${only}'` : ''}`
        : statuses.map((s) => `${s.name}: ${s.summary}`).join('; '),
    );
    return { json, exitCode: level };
  }
  if (statuses.length === 0)
    ctx.out.info(`No ${report.what} installed in ${ctx.stateDir}; see '${report.installCommand} --help'.`);
  for (const s of statuses) report.print(ctx, s);
  // A broken install is no report to pass over: the command fails (exit 1) once it has shown it.
  const broken = statuses.filter((s) => s.problem);
  if (broken.length > 0)
    ctx.out.error(
      `${report.what}${broken.length > 1 ? 's' : ''} ${broken.map((s) => `'${s.name}'`).join(', ')}` +
        ` cannot be used; ${report.use} with ${broken.length > 1 ? 'them' : 'it'} is refused`,
    );
  return { json, exitCode: broken.length > 0 ? 1 : 0 };
}

/** Paints text in the colour of a level. */
export function paintLevel(ctx: CommandContext, level: Level, text: string): string {
  return ctx.out.paint(level === 0 ? 'green' : level === 1 ? 'yellow' : 'red', text);
}
