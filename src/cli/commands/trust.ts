import { AirlockError, isAirlockError } from '../../errors.ts';
import { writeFileAtomic } from '../../files/atomic-write.ts';
import { DEFAULT_GRACE_DAYS, type FreshnessPolicy } from '../../trust/freshness.ts';
import { importTrustRoot, trustDir, validateTrustName } from '../../trust/install.ts';
import { installedTrustStatuses, overallLevel } from '../../trust/installed-status.ts';
import { mirrorTrustRepository, PUBLIC_GOOD_TUF_URL } from '../../trust/mirror.ts';
import { LEVELS, type Level, toPrometheus, type TrustRootStatus } from '../../trust/status.ts';
import type { Flags } from '../args.ts';
import type { Command, CommandContext } from '../command.ts';
import { parseTime } from '../time-flag.ts';
import { readInputFile } from '../../files/read-file.ts';

async function readPinnedRoot(flags: Flags): Promise<Uint8Array> {
  const path = flags.string('root');
  if (!path)
    throw new AirlockError(
      'E_USAGE',
      '--root PINNED_ROOT.json is required: trust starts from a root you chose, never from the mirror',
    );
  return readInputFile(path, 'a pinned TUF root', 1024 * 1024);
}

function policyFrom(flags: Flags, now: Date): FreshnessPolicy {
  const graceDays = flags.int('grace', DEFAULT_GRACE_DAYS, 0, 365);
  if (!flags.bool('break-glass')) {
    if (flags.has('reason') || flags.has('until'))
      throw new AirlockError('E_USAGE', '--reason and --until belong to --break-glass');
    return { graceDays };
  }
  const reason = flags.string('reason') ?? '';
  const until = flags.has('until')
    ? parseTime(flags.string('until') ?? '', '--until')
    : new Date(now.getTime() + 7 * 86_400_000);
  return { graceDays, breakGlass: { reason, until } };
}

/**
 * An E_TUF_EXPIRED with the hint of the command that met it: trust mirror reads a repository whose
 * own signing has lapsed (only its operator can fix that; the air-gapped side can bridge with a
 * break-glass import of a copy), trust import a mirror that got old on the way.
 */
function withExpiryHint(err: unknown, command: 'mirror' | 'import'): unknown {
  if (!isAirlockError(err, 'E_TUF_EXPIRED')) return err;
  const tolerant = err.details?.latencyTolerant === true;
  const hint =
    command === 'mirror'
      ? `the repository itself has expired: a mirror of it now would be just as stale. ` +
        (tolerant
          ? 'Mirror again once its timestamp is re-signed (or accept more latency with --grace DAYS); '
          : 'Mirror again once it is re-signed; ') +
        ('to bridge until then, copy the repository folder (metadata/ and targets/) across and ' +
          'import it there with `airlock trust import DIR --root FILE --break-glass --reason TEXT ' +
          '--until TIME` (at most 14 days, recorded): see docs/trust.md')
      : 'run `airlock trust mirror` on the connected side and carry the new mirror across; if that ' +
        'cannot happen in time, --break-glass --reason TEXT [--until TIME] accepts it for at most ' +
        '14 days (recorded)';
  return new AirlockError(err.code, err.message, {
    cause: err,
    hint,
    ...(err.details ? { details: err.details } : {}),
  });
}

const GRACE_FLAG = {
  type: 'string',
  value: 'DAYS',
  description: 'Accepted transfer latency: timestamp/snapshot may be this many days past expiry',
  default: String(DEFAULT_GRACE_DAYS),
} as const;

export const trustMirrorCommand: Command = {
  name: 'trust mirror',
  audit: 'trust.mirror',
  summary: 'Mirror a Sigstore TUF repository into a self-contained, verifiable folder (connected side)',
  usage: '--root PINNED_ROOT.json --out DIR [--source URL|DIR]',
  description:
    'Runs a TUF update from --source trusting only --root: walks the root chain, checks thresholds, hashes\n' +
    'and lengths, and fetches trusted_root.json and the signing configs. Writes every file needed to\n' +
    're-verify all of it offline, byte-exact, plus mirror.json. Public-good source: ' +
    PUBLIC_GOOD_TUF_URL,
  flags: {
    source: {
      type: 'string',
      value: 'URL|DIR',
      description: 'TUF repository (CDN layout or metadata/ + targets/)',
      default: PUBLIC_GOOD_TUF_URL,
    },
    root: { type: 'string', value: 'FILE', description: 'The pinned root to start from (e.g. a reviewed N.root.json)' },
    out: { type: 'string', value: 'DIR', description: 'Mirror folder to write' },
    grace: GRACE_FLAG,
    force: { type: 'boolean', description: 'Replace --out if it exists' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'airlock trust mirror --root 1.root.json --out /media/usb/sigstore-mirror',
      description: 'Mirror the public-good Sigstore root',
    },
    {
      command: 'airlock trust mirror --source https://tuf.internal --root root.json --out mirror/',
      description: 'A private TUF repository',
    },
  ],
  async run(ctx) {
    const out = ctx.flags.string('out');
    if (!out) throw new AirlockError('E_USAGE', 'airlock trust mirror needs --out DIR');
    const record = await mirrorTrustRepository({
      source: ctx.flags.string('source') ?? PUBLIC_GOOD_TUF_URL,
      pinnedRoot: await readPinnedRoot(ctx.flags),
      outDir: out,
      now: ctx.now(),
      policy: { graceDays: ctx.flags.int('grace', DEFAULT_GRACE_DAYS, 0, 365) },
      overwrite: ctx.flags.bool('force'),
      onFile: (path) => ctx.out.progress(`mirroring ${path}`),
    }).catch((err: unknown) => {
      throw withExpiryHint(err, 'mirror');
    });
    ctx.out.progressDone();
    ctx.audit.subject(record.source);
    ctx.audit.detail(
      'roles',
      record.roles.map((r) => ({ role: r.role, version: r.version, status: r.status })),
    );
    ctx.out.info(`Mirrored ${record.source} into ${out}: ${record.files.length} files`);
    for (const r of record.roles)
      ctx.out.info(
        `  ${r.role.padEnd(10)} v${r.version}  expires ${r.expires}${r.status === 'fresh' ? '' : ` (${r.status})`}`,
      );
    return { json: record };
  },
};

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
    'break-glass': {
      type: 'boolean',
      description: 'Accept expired roles whose signatures still verify (recorded, time-boxed)',
    },
    reason: { type: 'string', value: 'TEXT', description: 'Why break-glass is needed (required with --break-glass)' },
    until: {
      type: 'string',
      value: 'TIME',
      description: 'Break-glass deadline, at most 14 days ahead (default 7 days)',
    },
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

function printStatus(ctx: CommandContext, s: TrustRootStatus): void {
  const paint = (level: Level, text: string) =>
    ctx.out.paint(level === 0 ? 'green' : level === 1 ? 'yellow' : 'red', text);
  if (s.problem) {
    ctx.out.info(`${ctx.out.paint('bold', s.name)}  ${paint(s.level, LEVELS[s.level])}  ${s.summary}`);
    return;
  }
  ctx.out.info(`${ctx.out.paint('bold', s.name)}  ${paint(s.level, LEVELS[s.level])}  imported ${s.importedAt}`);
  for (const r of s.roles)
    ctx.out.info(
      `  ${r.role.padEnd(10)} v${String(r.version).padEnd(5)} expires ${r.expires}  acceptable ` +
        `until ${r.deadline}  ${paint(r.level, LEVELS[r.level])}`,
    );
  if (s.breakGlass) ctx.out.info(`  ${paint(2, 'break-glass')} until ${s.breakGlass.until}: ${s.breakGlass.reason}`);
  for (const a of s.authorities)
    ctx.out.info(
      `  ${a.kind.padEnd(6)} ${a.name}  ${a.start ?? '-'} .. ${a.end ?? 'open'}${a.activeAt ? '' : '  (not active)'}`,
    );
}

export const trustStatusCommand: Command = {
  name: 'trust status',
  summary: 'Expiry and freshness of the installed trust roots, for humans and monitoring',
  usage: '[--name NAME] [--check] [--prometheus FILE] [--at TIME]',
  description:
    'Levels: timestamp/snapshot WARNING 7 days before grace runs out, CRITICAL after; root/targets WARNING\n' +
    'under 30 days, CRITICAL under 7; any break-glass install is CRITICAL. --check prints one line and exits\n' +
    '0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin convention, for Nagios/Icinga/cron).',
  flags: {
    name: { type: 'string', value: 'NAME', description: 'Only this trust root' },
    check: { type: 'boolean', description: 'One status line and a monitoring-plugin exit code' },
    prometheus: { type: 'string', value: 'FILE', description: 'Write a node-exporter textfile with expiry gauges' },
    at: { type: 'string', value: 'TIME', description: 'Evaluate at another instant (audits: "was this fine then?")' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock trust status', description: 'Human report' },
    { command: 'airlock trust status --check', description: 'From a Nagios/Icinga check or cron' },
    {
      command: 'airlock trust status --prometheus /var/lib/node_exporter/textfile/airlock.prom',
      description: 'Expose gauges to Prometheus',
    },
  ],
  async run(ctx) {
    const at = ctx.flags.has('at') ? parseTime(ctx.flags.string('at') ?? '', '--at') : ctx.now();
    const only = ctx.flags.string('name');
    const check = ctx.flags.bool('check');
    const checkLine = (level: Level, detail: string) => {
      if (!ctx.out.json) ctx.io.stdout.write(`AIRLOCK TRUST ${LEVELS[level]} - ${detail}\n`);
    };
    let statuses: TrustRootStatus[];
    try {
      statuses = await installedTrustStatuses(ctx.stateDir, only ? [validateTrustName(only)] : undefined, at);
    } catch (err) {
      // A monitoring check answers with its own levels: what airlock cannot read is UNKNOWN, not exit 1.
      if (!check || !isAirlockError(err) || err.code === 'E_USAGE') throw err;
      checkLine(3, `${err.message} [${err.code}]`);
      return { json: { level: LEVELS[3], at: at.toISOString(), roots: [], error: err.toJSON() }, exitCode: 3 };
    }
    const level = overallLevel(statuses);
    const prom = ctx.flags.string('prometheus');
    if (prom) await writeFileAtomic(prom, toPrometheus(statuses), { overwrite: true });
    const json = { level: LEVELS[level], at: at.toISOString(), roots: statuses };
    if (check) {
      checkLine(
        level,
        statuses.length === 0
          ? `no trust root installed${only ? ` as '${only}'` : ''}`
          : statuses.map((s) => `${s.name}: ${s.summary}`).join('; '),
      );
      return { json, exitCode: level };
    }
    if (statuses.length === 0)
      ctx.out.info(`No trust root installed in ${ctx.stateDir}; see 'airlock trust import --help'.`);
    for (const s of statuses) printStatus(ctx, s);
    // A broken install is no report to pass over: the command fails (exit 1) once it has shown it.
    const broken = statuses.filter((s) => s.problem);
    if (broken.length > 0)
      ctx.out.error(
        `trust root${broken.length > 1 ? 's' : ''} ${broken.map((s) => `'${s.name}'`).join(', ')}` +
          ` cannot be used; verification with ${broken.length > 1 ? 'them' : 'it'} is refused`,
      );
    return { json, exitCode: broken.length > 0 ? 1 : 0 };
  },
};
