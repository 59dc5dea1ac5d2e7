// A thin typed layer over node:util parseArgs: flag specs that also render help, strict parsing that
// turns every parse failure into E_USAGE with a hint, and the `--flag=false` spelling cosign users type
// for booleans (parseArgs only knows `--no-flag`).
import { parseArgs } from 'node:util';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { closestName } from './suggest.ts';

export interface FlagSpec {
  readonly type: 'boolean' | 'string';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder shown in help for string flags, e.g. FILE. */
  readonly value?: string;
  readonly description: string;
  /** Shown in help; booleans that default to true accept --no-NAME and --NAME=false. */
  readonly default?: string | boolean;
  readonly hidden?: boolean;
  /**
   * For a string flag: the value it takes when given alone (last, or followed by another flag), so
   * `pack --sbom generate --scan` reads as `--scan=generate` while `--scan IMAGE=FILE` still works.
   */
  readonly bare?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export type FlagValue = string | boolean | string[] | boolean[] | undefined;

/** Parsed flags with typed accessors; unknown names are a programming error, not a user error. */
export class Flags {
  readonly #values: Record<string, FlagValue>;
  readonly #specs: FlagSpecs;

  constructor(values: Record<string, FlagValue>, specs: FlagSpecs) {
    this.#values = values;
    this.#specs = specs;
  }

  #spec(name: string): FlagSpec {
    const spec = this.#specs[name];
    if (!spec) throw new Error(`flag --${name} is not declared`);
    return spec;
  }

  string(name: string): string | undefined {
    this.#spec(name);
    const v = this.#values[name];
    if (Array.isArray(v)) return v.at(-1) as string | undefined;
    return typeof v === 'string' ? v : undefined;
  }

  strings(name: string): string[] {
    this.#spec(name);
    const v = this.#values[name];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }

  bool(name: string): boolean {
    const spec = this.#spec(name);
    const v = this.#values[name];
    if (typeof v === 'boolean') return v;
    return spec.default === true;
  }

  has(name: string): boolean {
    this.#spec(name);
    return this.#values[name] !== undefined;
  }

  /** One of a fixed set of words (an output format, say); E_USAGE naming them otherwise. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!(choices as readonly string[]).includes(raw)) {
      const flag = this.#spec(name).short ? `-${this.#spec(name).short}` : `--${name}`;
      throw new AirlockError('E_USAGE', `${flag} takes ${choices.join(', ')}; got '${bounded(raw, 40)}'`);
    }
    return raw as T;
  }

  /** Integer flag with bounds; E_USAGE when not an integer in range. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw)) throw new AirlockError('E_USAGE', `--${name} must be a whole number, got '${raw}'`);
    const n = Number(raw);
    if (n < min || n > max) throw new AirlockError('E_USAGE', `--${name} must be between ${min} and ${max}`);
    return n;
  }
}

export interface ParsedArgs {
  readonly flags: Flags;
  readonly positionals: string[];
}

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

/**
 * Rewrites `--flag=true|false` for boolean flags into parseArgs' `--flag` / `--no-flag`, and a string flag
 * given alone into `--flag=BARE` where it declares a bare value.
 */
export function normaliseBooleanAssignments(argv: readonly string[], specs: FlagSpecs): string[] {
  const out: string[] = [];
  for (const [i, arg] of argv.entries()) {
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z0-9-]+)=(.*)$/i.exec(arg);
    const name = m?.[1];
    const bare = /^--([a-z0-9-]+)$/i.exec(arg)?.[1];
    const next = argv[i + 1];
    const spec = bare === undefined ? undefined : specs[bare];
    if (spec?.type === 'string' && spec.bare !== undefined && (next === undefined || next.startsWith('-'))) {
      out.push(`${arg}=${spec.bare}`);
      continue;
    }
    if (m && name && specs[name]?.type === 'boolean') {
      const word = (m[2] ?? '').toLowerCase();
      if (TRUE_WORDS.has(word)) out.push(`--${name}`);
      else if (FALSE_WORDS.has(word)) out.push(`--no-${name}`);
      else throw new AirlockError('E_USAGE', `--${name} takes true or false, got '${m[2]}'`);
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** Parses argv strictly against `specs`; every failure is E_USAGE pointing at `helpCommand`. */
export function parseCommandArgs(argv: readonly string[], specs: FlagSpecs, helpCommand: string): ParsedArgs {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  const hint = `run '${helpCommand} --help' for usage`;
  try {
    const { values, positionals } = parseArgs({
      args: normaliseBooleanAssignments(argv, specs),
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    return { flags: new Flags(values as Record<string, FlagValue>, specs), positionals };
  } catch (err) {
    if (err instanceof AirlockError) throw new AirlockError(err.code, err.message, { hint });
    const typed = unknownFlag(err);
    const guess = typed === undefined ? undefined : closestFlag(typed, specs);
    throw new AirlockError('E_USAGE', describeParseError(err), {
      hint: guess ? `did you mean ${guess}? ${hint}` : hint,
      cause: err,
    });
  }
}

/** The flag parseArgs did not know, as typed (`--keyy`, `-x`). */
function unknownFlag(err: unknown): string | undefined {
  if ((err as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return undefined;
  return /'(-[^']*)'/.exec((err as Error).message)?.[1];
}

/** The declared spelling closest to a mistyped long flag, --no-NAME included for booleans. */
function closestFlag(typed: string, specs: FlagSpecs): string | undefined {
  if (!typed.startsWith('--')) return undefined;
  const names = Object.entries(specs).flatMap(([name, spec]) =>
    spec.hidden ? [] : spec.type === 'boolean' ? [name, `no-${name}`] : [name],
  );
  const guess = closestName(typed.slice(2), names);
  return guess === undefined ? undefined : `--${guess}`;
}

function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // parseArgs messages carry advice for script authors ("To specify a positional argument ..."): keep
  // the first sentence, which names the flag.
  const first = message.split(/\.\s/)[0] ?? message;
  return first.replace(/^Unknown option '(.*)'$/, "unknown flag '$1'").replace(/\.$/, '');
}
