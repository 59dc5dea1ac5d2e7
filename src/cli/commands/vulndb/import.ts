// `airlock vulndb import` (air-gapped side): a database verified against the keys given, refused when
// older than the installed one or than its maximum age (unless a break-glass is recorded), installed
// atomically by name.
import { resolve } from 'node:path';
import { loadPublicKey } from '../../../crypto/key-ref.ts';
import { AirlockError } from '../../../errors.ts';
import { DEFAULT_MAX_AGE_DAYS, MAX_MAX_AGE_DAYS } from '../../../vuln/db/freshness.ts';
import { DEFAULT_VULNDB_NAME, importVulnDb, vulnDbDir } from '../../../vuln/db/install.ts';
import type { Command } from '../../command.ts';
import { breakGlassFlags, breakGlassOption } from '../../options/break-glass.ts';
import { keyContext } from '../../options/key.ts';

export const vulndbImportCommand: Command = {
  name: 'vulndb import',
  summary: 'Verify a vulnerability database and install it by name (air-gapped side)',
  usage: 'DB --key PUBKEY [--name NAME] [--max-age DAYS] [--break-glass --reason TEXT [--until DATE]]',
  description:
    "Verifies the manifest's signature with --key and the content against the manifest's hash, refuses a\n" +
    'database built before the one installed as NAME (rollback) or longer ago than --max-age days, then\n' +
    'installs it atomically (the same build again changes nothing). It warns in the last two days of its\n' +
    'maximum age. --break-glass accepts a database older than that until a deadline at most 14 days\n' +
    'ahead; it is recorded and every scan with it warns.',
  flags: {
    key: { type: 'string', value: 'PUBKEY', description: 'Public key (file, env://VAR, pkcs11: URI) that signed DB' },
    name: { type: 'string', value: 'NAME', description: 'Name to install it as', default: DEFAULT_VULNDB_NAME },
    'max-age': {
      type: 'string',
      value: 'DAYS',
      description: 'Refuse a database built longer ago than this',
      default: String(DEFAULT_MAX_AGE_DAYS),
    },
    ...breakGlassFlags('a database older than --max-age'),
  },
  positionals: { min: 1, max: 1 },
  examples: [
    { command: 'airlock vulndb import /media/usb/vuln.db --key vulndb.pub', description: 'Install as "default"' },
    {
      command:
        "airlock vulndb import vuln.db --key vulndb.pub --break-glass --reason 'CHG-1234: courier delayed' " +
        '--until 2026-12-05T00:00:00Z',
      description: 'Bridge a late database',
    },
  ],
  async run(ctx) {
    const now = ctx.now();
    const keyRef = ctx.flags.string('key');
    if (!keyRef)
      throw new AirlockError('E_USAGE', 'vulndb import needs --key PUBKEY: the key that signed the database');
    const maxAgeDays = ctx.flags.int('max-age', DEFAULT_MAX_AGE_DAYS, 1, MAX_MAX_AGE_DAYS);
    const breakGlass = breakGlassOption(ctx.flags, now);
    const publicKey = await loadPublicKey(keyRef, keyContext(ctx));
    await ctx.audit.ready();
    const path = resolve(ctx.cwd, ctx.positionals[0] ?? '');
    const result = await importVulnDb(path, {
      keys: [publicKey],
      name: ctx.flags.string('name') ?? DEFAULT_VULNDB_NAME,
      maxAgeDays,
      now,
      stateDir: ctx.stateDir,
      record: ctx.audit.record,
      ...(breakGlass ? { breakGlass } : {}),
    });
    const { install } = result;
    if (install.breakGlass)
      ctx.out.warn(
        `BREAK-GLASS: installed a database built ${install.built}; refused after ${install.breakGlass.until}`,
      );
    else if (result.state === 'warn')
      ctx.out.warn(`the database expires in ${result.daysLeft} days: carry a fresh one across soon`);
    ctx.out.info(
      result.unchanged
        ? `Vulnerability database '${install.name}' built ${install.built} is installed already: nothing changed`
        : `Installed vulnerability database '${install.name}' (built ${install.built}, ${install.records} records) ` +
            `into ${vulnDbDir(ctx.stateDir, install.name)}`,
    );
    return { json: result };
  },
};
