// Which `--flag` names a message or hint mentions that the command it points at does not have. A flag
// inside a backticked `airlock CMD ...` is checked against CMD; any other against the command that
// printed it. A hint that names a flag the user cannot pass sends them nowhere.
import { GLOBAL_FLAGS } from '../../src/cli/command.ts';
import { COMMAND_ENTRIES } from '../../src/cli/commands/index.ts';

const FLAG = /(?<![\w-])--([a-z][a-z0-9-]*)/g;

async function flagsOf(name: string): Promise<Set<string>> {
  const entry = COMMAND_ENTRIES.find((e) => e.name === name || e.aliases?.includes(name));
  if (!entry) throw new Error(`no command '${name}'`);
  return new Set([...Object.keys((await entry.load()).flags), ...Object.keys(GLOBAL_FLAGS)]);
}

/** The command `airlock A B ...` names: the longest run of words that is a command name. */
function commandIn(segment: string): string | undefined {
  const words = segment.replace(/^airlock\s+/, '').split(/\s+/);
  for (let n = Math.min(3, words.length); n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    if (COMMAND_ENTRIES.some((e) => e.name === name || e.aliases?.includes(name))) return name;
  }
  return undefined;
}

/** `--flag (in COMMAND)` for every flag `text` names that its command does not have. */
export async function unknownFlagsIn(text: string, running: string): Promise<string[]> {
  const unknown: string[] = [];
  const check = async (part: string, command: string) => {
    const known = await flagsOf(command);
    for (const m of part.matchAll(FLAG)) if (!known.has(m[1] ?? '')) unknown.push(`--${m[1]} (in ${command})`);
  };
  let rest = text;
  for (const m of text.matchAll(/`(airlock [^`]*)`/g)) {
    const segment = m[1] ?? '';
    const command = commandIn(segment);
    if (!command) {
      unknown.push(`\`${segment}\`: no such command`);
      continue;
    }
    await check(segment, command);
    rest = rest.replace(m[0], '');
  }
  await check(rest, running);
  return unknown;
}
