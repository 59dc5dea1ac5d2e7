// The scan group: which database (--db FILE [--db-key] or --vulndb NAME), the gate (--fail-on,
// --unknown-severity), reviewed exceptions (--ignore) and the report format. Shared by `scan` and by
// `pack`, which scans what it carries.
import { resolve } from 'node:path';
import { AirlockError } from '../../errors.ts';
import { readInputText } from '../../files/read-file.ts';
import { parseSeverity } from '../../policy/severity.ts';
import { bounded } from '../../text.ts';
import type { GateOptions } from '../../vuln/gate.ts';
import type { IgnoreEntry } from '../../vuln/ignore.ts';
import { DEFAULT_MAX_AGE_DAYS, MAX_MAX_AGE_DAYS } from '../../vuln/db/freshness.ts';
import type { DatabaseChoice } from '../../vuln/scan-database.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { keyContext } from './key.ts';

export const SCAN_DATABASE_FLAGS = {
  db: { type: 'string', value: 'DB', description: 'A vulnerability database file (airlock vulndb build)' },
  'db-key': { type: 'string', value: 'PUBKEY', description: "Verify --db's signature with this public key" },
  'max-age': {
    type: 'string',
    value: 'DAYS',
    description: 'Refuse a --db built longer ago than DAYS (default 7, as vulndb import)',
  },
  vulndb: {
    type: 'string',
    value: 'NAME',
    description: 'An installed database (airlock vulndb import); the default when neither is given: default',
  },
} as const satisfies FlagSpecs;

export const SCAN_GATE_FLAGS = {
  'fail-on': {
    type: 'string',
    value: 'SEVERITY',
    description: 'Fail (exit 1) on a finding at or above SEVERITY: negligible, low, medium, high, critical',
  },
  'unknown-severity': {
    type: 'string',
    value: 'fail|warn',
    description: 'A finding of unknown severity fails the gate (fail, the default) or is only reported (warn)',
    default: 'fail',
  },
  ignore: {
    type: 'string',
    value: 'FILE',
    description: 'Reviewed exceptions (YAML/JSON: id, package, reason, expires); expired ones stop applying',
  },
} as const satisfies FlagSpecs;

export async function databaseChoice(ctx: CommandContext): Promise<DatabaseChoice | undefined> {
  const file = ctx.flags.string('db');
  const name = ctx.flags.string('vulndb');
  if (file && name) throw new AirlockError('E_USAGE', '--db and --vulndb name two databases: give one');
  const keyRef = ctx.flags.string('db-key');
  if (keyRef && !file)
    throw new AirlockError('E_USAGE', '--db-key verifies a --db file; installed databases were verified at import');
  if (ctx.flags.has('max-age') && !file)
    throw new AirlockError('E_USAGE', '--max-age judges a --db file; installed databases were judged at import');
  if (name) return { kind: 'installed', name };
  if (!file) return undefined;
  const { loadPublicKey } = await import('../../crypto/key-ref.ts');
  const keys = keyRef ? [await loadPublicKey(keyRef, keyContext(ctx))] : [];
  const maxAgeDays = ctx.flags.int('max-age', DEFAULT_MAX_AGE_DAYS, 1, MAX_MAX_AGE_DAYS);
  return { kind: 'file', path: resolve(ctx.cwd, file), keys, maxAgeDays };
}

export function gateOptions(ctx: CommandContext): GateOptions {
  const failOn = ctx.flags.string('fail-on');
  const unknown = ctx.flags.string('unknown-severity') ?? 'fail';
  if (unknown !== 'fail' && unknown !== 'warn')
    throw new AirlockError('E_USAGE', `--unknown-severity takes fail or warn, got '${bounded(unknown, 40)}'`);
  return { ...(failOn ? { failOn: parseSeverity(failOn, '--fail-on') } : {}), unknownSeverity: unknown };
}

export async function ignoreEntries(ctx: CommandContext): Promise<IgnoreEntry[]> {
  const path = ctx.flags.string('ignore');
  if (!path) return [];
  const { parseIgnoreFile } = await import('../../vuln/ignore.ts');
  return parseIgnoreFile(await readInputText(resolve(ctx.cwd, path), 'an ignore file', 16 * 1024 * 1024), path);
}
