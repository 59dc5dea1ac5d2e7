// `airlock trust import` (air-gapped side): a mirror re-verified offline from the pinned root, the
// freshness policy applied, installed as a named trust root.
import { DEFAULT_GRACE_DAYS, type FreshnessPolicy } from '../../../trust/freshness.ts';
import { importTrustRoot, trustDir } from '../../../trust/install.ts';
import type { Flags } from '../../args.ts';
import type { Command } from '../../command.ts';
import { breakGlassFlags, breakGlassOption } from '../../options/break-glass.ts';
import { GRACE_FLAG, readPinnedRoot, withExpiryHint } from './tuf.ts';

function policyFrom(flags: Flags, now: Date): FreshnessPolicy {
  const graceDays = flags.int('grace', DEFAULT_GRACE_DAYS, 0, 365);
  const breakGlass = breakGlassOption(flags, now);
  return breakGlass ? { graceDays, breakGlass } : { graceDays };
}

export const trustImportCommand: Command = {
  name: 'trust import',
  summary: 'Verify a mirror offline from the pinned root and install it as a named trust root (air-gapped side)',
  usage: 'MIRROR --root PINNED_ROOT.json [--name NAME] [--grace DAYS] [--break-glass --reason TEXT [--until DATE]]',
  description:
    'Re-verifies everything from --root, refuses versions older than ever trusted for NAME, applies the\n' +
    'freshness policy (docs/trust.md), then installs atomically, keeping the previous root. The clock is\n' +
    "the machine's: an import cannot be told another time. --break-glass accepts expired roles whose\n" +
    'signatures verify, until a deadline at most 14 days ahead; it is recorded and every use warns.',
  flags: {
    root: { type: 'string', value: 'FILE', description: 'The pinned root (the same one the connected side trusts)' },
    name: { type: 'string', value: 'NAME', description: 'Name of the installed trust root', default: 'public-good' },
    grace: GRACE_FLAG,
    ...breakGlassFlags('expired roles whose signatures still verify'),
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock trust import /media/usb/sigstore-mirror --root 1.root.json',
      description: 'Install the public-good root',
    },
    {
      command:
        "airlock trust import mirror/ --root 1.root.json --break-glass --reason 'CHG-1234: " +
        "courier delayed' --until 2026-12-05T00:00:00Z",
      description: 'Bridge a late mirror',
    },
  ],
  async run(ctx) {
    const now = ctx.now();
    await ctx.audit.ready();
    const install = await importTrustRoot({
      mirrorDir: ctx.positionals[0] ?? '',
      pinnedRoot: await readPinnedRoot(ctx.flags),
      name: ctx.flags.string('name') ?? 'public-good',
      stateDir: ctx.stateDir,
      now,
      policy: policyFrom(ctx.flags, now),
      record: ctx.audit.record,
    }).catch((err: unknown) => {
      throw withExpiryHint(err, 'import');
    });
    if (install.breakGlass) {
      ctx.out.warn(
        `BREAK-GLASS: installed with expired ${install.breakGlass.expiredRoles.join(', ')}; ` +
          `refused after ${install.breakGlass.until}`,
      );
    }
    ctx.out.info(
      `Installed trust root '${install.name}' from ${install.source} into ${trustDir(ctx.stateDir, install.name)}`,
    );
    for (const r of install.roles)
      ctx.out.info(`  ${r.role.padEnd(10)} v${r.version}  expires ${r.expires}  ${r.status}`);
    return { json: install };
  },
};
