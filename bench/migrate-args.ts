// The options of `npm run bench -- migrate`, parsed and checked before a PostgreSQL is started: a typo
// fails at once instead of after a minute of set-up.
import { parseArgs } from 'node:util';

export interface MigrateBenchOptions {
  /** Entries in the sqlite log that is migrated. */
  readonly entries: number;
  /** Timed windows of each contender, interleaved. */
  readonly rounds: number;
}

export const DEFAULT_ENTRIES = 50_000;
const DEFAULT_ROUNDS = 3;
const QUICK = { entries: 2_000, rounds: 1 };

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    throw new Error(`${flag} takes a positive whole number, not ${JSON.stringify(value)}`);
  return n;
}

/** `--entries N`, `--rounds N`, `--quick` (a small log, one round: a smoke run) from the arguments after the name. */
export function parseMigrateArgs(args: readonly string[]): MigrateBenchOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      entries: { type: 'string' },
      rounds: { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const defaults = values.quick ? QUICK : { entries: DEFAULT_ENTRIES, rounds: DEFAULT_ROUNDS };
  return {
    entries: positiveInteger(values.entries, '--entries', defaults.entries),
    rounds: positiveInteger(values.rounds, '--rounds', defaults.rounds),
  };
}
