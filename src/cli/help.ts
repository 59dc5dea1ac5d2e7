// Help text, rendered from the same specs the parser uses so the two cannot drift.
import type { FlagSpecs } from './args.ts';
import { type Command, GLOBAL_FLAGS } from './command.ts';

function flagLines(specs: FlagSpecs): string[] {
  const rows = Object.entries(specs)
    .filter(([, s]) => !s.hidden)
    .map(([name, s]) => {
      const short = s.short ? `-${s.short}, ` : '    ';
      const value = s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : '';
      const def = s.default === undefined ? '' : ` (default ${String(s.default)})`;
      const many = s.multiple ? ' (repeatable)' : '';
      return [`  ${short}--${name}${value}`, `${s.description}${def}${many}`] as const;
    });
  const width = Math.min(38, Math.max(0, ...rows.map(([l]) => l.length)) + 2);
  // A flag longer than the column still keeps two spaces before its description.
  return rows.map(([left, right]) => `${left.length + 2 > width ? `${left}  ` : left.padEnd(width)}${right}`);
}

export function renderCommandHelp(cmd: Command): string {
  const lines = [`airlock ${cmd.name} — ${cmd.summary}`, '', `Usage: airlock ${cmd.name} ${cmd.usage}`.trimEnd()];
  if (cmd.aliases?.length) lines.push(`Also: ${cmd.aliases.map((a) => `airlock ${a}`).join(', ')} (the same command)`);
  if (cmd.description) lines.push('', cmd.description);
  if (Object.keys(cmd.flags).length > 0) lines.push('', 'Flags:', ...flagLines(cmd.flags));
  lines.push('', 'Global flags:', ...flagLines(GLOBAL_FLAGS));
  if (cmd.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const ex of cmd.examples) lines.push(`  # ${ex.description}`, `  ${ex.command}`, '');
    lines.pop();
  }
  return `${lines.join('\n')}\n`;
}

export function renderGroupHelp(prefix: string, summary: string, commands: readonly Command[]): string {
  const title = prefix ? `airlock ${prefix} — ${summary}` : `airlock — ${summary}`;
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  const lines = [title, '', `Usage: airlock ${prefix ? `${prefix} ` : ''}COMMAND [flags]`, '', 'Commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(width)}${c.summary}`);
  const globals: FlagSpecs = prefix
    ? GLOBAL_FLAGS
    : { ...GLOBAL_FLAGS, version: { type: 'boolean', description: 'Print the version' } };
  lines.push('', 'Global flags:', ...flagLines(globals));
  lines.push('', `Run 'airlock ${prefix ? `${prefix} ` : ''}COMMAND --help' for a command's flags and examples.`);
  return `${lines.join('\n')}\n`;
}
