// The CLI's only entry: main(argv, io, env) → exit code. It finds the command, parses flags, runs it,
// and maps any failure to an exit code from the table in errors.ts. Nothing else in airlock exits.
import { homedir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AirlockError, EXIT, isAirlockError } from '../errors.ts';
import { assertNoLogin, redactReference } from '../oci/reference.ts';
import { bounded } from '../text.ts';
import { VERSION } from '../version.ts';
import { type ParsedArgs, parseCommandArgs } from './args.ts';
import type { AuditTrail } from './audit-trail.ts';
import { type Command, type CommandResult, GLOBAL_FLAGS } from './command.ts';
import { COMMAND_ENTRIES, type CommandEntry, COSIGN_EQUIVALENTS, loadCommands, loadedEntry } from './commands/index.ts';
import { renderCommandHelp, renderGroupHelp } from './help.ts';
import { type Env, type Io, Output } from './output.ts';
import { passwordSource } from './password.ts';
import { closestName } from './suggest.ts';

export interface MainOptions {
  now?: () => Date;
  cwd?: string;
  commands?: readonly Command[];
}

const SUMMARY = 'sign, pack, carry and verify software across an air gap';

/** Resolves $AIRLOCK_HOME: the one place state lives (default ~/.local/state/airlock). */
export function resolveStateDir(env: Env): string {
  if (env.AIRLOCK_HOME) return env.AIRLOCK_HOME;
  const stateHome = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(stateHome, 'airlock');
}

interface Resolved {
  command?: CommandEntry;
  group?: string;
  rest: string[];
  unknown?: string;
  /** A cosign command airlock answers another way (COSIGN_EQUIVALENTS). */
  cosign?: string;
}

function isGlobalFlag(arg: string): boolean {
  const name = arg.replace(/^--?/, '');
  return Object.entries(GLOBAL_FLAGS).some(([n, s]) => n === name || ('short' in s && s.short === name));
}

/** Finds the longest command name made of the leading words of argv (global flags may come first). */
function resolveCommand(argv: readonly string[], commands: readonly CommandEntry[]): Resolved {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && isGlobalFlag(argv[i] ?? '')) leading.push(argv[i++] ?? '');
  const words: string[] = [];
  for (let j = i; j < argv.length && !(argv[j] ?? '').startsWith('-'); j++) words.push(argv[j] ?? '');
  for (let n = words.length; n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const command = commands.find((c) => c.name === name || c.aliases?.includes(name));
    if (command) return { command, rest: [...leading, ...argv.slice(i + n)] };
  }
  for (let n = Math.min(words.length, 2); n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    if (Object.hasOwn(COSIGN_EQUIVALENTS, name)) return { cosign: name, rest: [] };
  }
  const first = words[0];
  if (first === undefined) return { rest: [...leading, ...argv.slice(i)] };
  const groupWords = words.slice(0, 2);
  for (let n = groupWords.length; n > 0; n--) {
    const prefix = groupWords.slice(0, n).join(' ');
    if (commands.some((c) => c.name.startsWith(`${prefix} `))) {
      const next = words[n];
      return {
        group: prefix,
        rest: [...leading, ...argv.slice(i + n)],
        ...(next !== undefined ? { unknown: `${prefix} ${next}` } : {}),
      };
    }
  }
  return { rest: argv.slice(i + 1), unknown: first };
}

export async function main(argv: readonly string[], io: Io, env: Env, options: MainOptions = {}): Promise<number> {
  const commands = options.commands?.map(loadedEntry) ?? COMMAND_ENTRIES;
  const out = globalOutput(argv, io, env);
  try {
    return await runArgv(argv, commands, io, env, options, out);
  } catch (err) {
    return reportFailure(err, out, env);
  }
}

/** The output the global flags ask for, wherever they stand: read first, so every later error is in that form. */
function globalOutput(argv: readonly string[], io: Io, env: Env): Output {
  const globalsOnly = argv.filter(isGlobalFlag);
  return new Output(io, {
    json: globalsOnly.includes('--json'),
    quiet: globalsOnly.includes('--quiet') || globalsOnly.includes('-q'),
    verbose: globalsOnly.includes('--verbose') || globalsOnly.includes('-v'),
    env,
  });
}

async function runArgv(
  argv: readonly string[],
  commands: readonly CommandEntry[],
  io: Io,
  env: Env,
  options: MainOptions,
  out: Output,
): Promise<number> {
  // A login typed on the command line is refused before anything runs (reference.ts says why): in any
  // argument or flag value as a URL, in a positional also as NAME:PASSWORD@HOST.
  for (const arg of argv) assertNoLogin(arg.replace(/^--?[\w-]+=/, ''), false);
  if (argv[0] === '--version' || argv[0] === 'version') {
    if (out.json) out.document({ version: VERSION, node: process.versions.node });
    else io.stdout.write(`airlock ${VERSION}\n`);
    return EXIT.OK;
  }
  const resolved = findCommand(argv, commands);
  if (!resolved.command) return groupHelp(resolved, commands, io, out);
  const command = await resolved.command.load();
  const parsed = parseInvocation(command, resolved.rest);
  if (!parsed) {
    io.stdout.write(renderCommandHelp(command));
    return EXIT.OK;
  }
  return runCommand(command, parsed, io, env, options, out);
}

/** The command argv names; a cosign command airlock answers another way, or an unknown one, is refused. */
function findCommand(argv: readonly string[], commands: readonly CommandEntry[]): Resolved {
  const resolved = resolveCommand(argv, commands);
  const equivalent = resolved.cosign === undefined ? undefined : COSIGN_EQUIVALENTS[resolved.cosign];
  if (equivalent) {
    throw new AirlockError('E_UNSUPPORTED', `airlock has no '${resolved.cosign}': ${equivalent.why}`, {
      hint: `instead: ${equivalent.instead}`,
    });
  }
  if (resolved.unknown !== undefined) {
    const names = commands.map((c) => c.name);
    const guess = closestName(resolved.unknown, names);
    throw new AirlockError('E_USAGE', `unknown command '${redactReference(resolved.unknown).slice(0, 80)}'`, {
      hint: guess ? `did you mean 'airlock ${guess}'? Run 'airlock --help' for the list` : "run 'airlock --help'",
    });
  }
  return resolved;
}

/** No command, only a group (or nothing): its help, asked for (exit 0) or not (a usage error). */
async function groupHelp(resolved: Resolved, commands: readonly CommandEntry[], io: Io, out: Output): Promise<number> {
  const prefix = resolved.group ?? '';
  const members = await loadCommands(prefix ? commands.filter((c) => c.name.startsWith(`${prefix} `)) : commands);
  io.stdout.write(renderGroupHelp(prefix, prefix ? `${prefix} commands` : SUMMARY, members));
  if (resolved.rest.includes('--help') || resolved.rest.includes('-h')) return EXIT.OK;
  out.error(prefix ? `'airlock ${prefix}' needs a subcommand` : 'no command given');
  return EXIT.USAGE;
}

/** The command's flags and positionals, checked; undefined when --help asks for its help instead. */
function parseInvocation(command: Command, rest: readonly string[]): ParsedArgs | undefined {
  const flagSpecs = { ...GLOBAL_FLAGS, ...command.flags };
  const parsed = parseCommandArgs(rest, flagSpecs, `airlock ${command.name}`);
  if (parsed.flags.bool('help')) return undefined;
  for (const arg of parsed.positionals) assertNoLogin(arg, true);
  const { min, max } = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const expected = min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min}–${max}`;
    throw new AirlockError(
      'E_USAGE',
      `airlock ${command.name} takes ${expected} argument(s), got ${parsed.positionals.length}`,
      { hint: `usage: airlock ${command.name} ${command.usage}` },
    );
  }
  return parsed;
}

/** Runs the command with its context, records its outcome in the audit trail, and prints its --json document. */
async function runCommand(
  command: Command,
  parsed: ParsedArgs,
  io: Io,
  env: Env,
  options: MainOptions,
  out: Output,
): Promise<number> {
  const now = options.now ?? (() => new Date());
  const stateDir = resolveStateDir(env);
  const audit = await openAuditTrail(stateDir, now, io, env, out);
  let result: CommandResult | undefined;
  let failure: AirlockError | undefined;
  try {
    if (command.audit !== undefined && !command.verdict) await audit.ready();
    result = await command.run({
      flags: parsed.flags,
      positionals: parsed.positionals,
      out,
      io,
      env,
      now,
      stateDir,
      cwd: options.cwd ?? process.cwd(),
      audit,
    });
  } catch (err) {
    failure = asAirlockError(err);
  }
  await finishAudit(command, audit, out, failure ? { error: failure } : { exitCode: result?.exitCode ?? EXIT.OK });
  if (failure) throw failure;
  if (out.json && result?.json !== undefined) out.document(result.json);
  return result?.exitCode ?? EXIT.OK;
}

async function openAuditTrail(stateDir: string, now: () => Date, io: Io, env: Env, out: Output): Promise<AuditTrail> {
  // Loaded here, not at the top: --version, --help and usage errors need neither.
  const [{ createAuditTrail }, { loadSigner }] = await Promise.all([
    import('./audit-trail.ts'),
    import('../crypto/key-ref.ts'),
  ]);
  return createAuditTrail({
    stateDir,
    env,
    now,
    randomId: randomUUID,
    loadSigner: (ref) => loadSigner(ref, { env, password: passwordSource(io, env, {}), warn: (m) => out.warn(m) }),
    sharedTrail: async () => (await import('./options/audit-url.ts')).sharedAuditTrail(env),
  });
}

/** Records the command's closing event; a success that could not be recorded becomes a failure. */
async function finishAudit(
  command: Command,
  audit: AuditTrail,
  out: Output,
  outcome: { error?: AirlockError; exitCode?: number },
): Promise<void> {
  try {
    await audit.finish(command.audit, outcome);
  } catch (err) {
    const auditError = asAirlockError(err);
    // A "yes" that could not be recorded must not pass as a recorded one; a "no" (thrown, or a verdict
    // given as its exit code) stays a "no", with a warning that it went unrecorded.
    if (!outcome.error && (outcome.exitCode ?? EXIT.OK) === EXIT.OK)
      throw new AirlockError(
        auditError.code,
        `${command.name} completed, but its audit event could not be recorded: ${auditError.message}`,
        { cause: err, ...(auditError.hint ? { hint: auditError.hint } : {}) },
      );
    const what = outcome.error || outcome.exitCode !== EXIT.DENIED ? 'failure' : 'verdict';
    out.warn(`the audit event for this ${what} could not be recorded: ${auditError.message} [${auditError.code}]`);
  }
}

function asAirlockError(err: unknown): AirlockError {
  return isAirlockError(err)
    ? err
    : new AirlockError('E_INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`, {
        hint: 'this is a bug in airlock; re-run with AIRLOCK_DEBUG=1 and report the output',
        cause: err,
      });
}

const MAX_MESSAGE = 8192;

function reportFailure(err: unknown, out: Output, env: Env): number {
  const debug = env.AIRLOCK_DEBUG === '1' || env.AIRLOCK_DEBUG === 'true';
  const airlockErr = asAirlockError(err);
  if (out.json) out.document({ ok: false, error: airlockErr.toJSON() });
  // The last line of defence for a terminal: whatever an outside string put in a message, no escape
  // sequence reaches it and no message runs on for pages (messages bound what they quote themselves).
  out.error(`${bounded(airlockErr.message, MAX_MESSAGE, true)} [${airlockErr.code}]`);
  if (airlockErr.hint) out.info(`${out.paint('dim', 'hint:')} ${bounded(airlockErr.hint, MAX_MESSAGE, true)}`);
  if (debug) {
    const stack = (airlockErr.cause instanceof Error ? airlockErr.cause : airlockErr).stack;
    out.warn(`AIRLOCK_DEBUG stack trace:\n${stack ?? '(none)'}`);
  }
  return airlockErr.exitCode;
}
