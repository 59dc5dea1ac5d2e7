// `airlock trust mirror` (connected side): a verified TUF update into a self-contained mirror folder.
import { AirlockError } from '../../../errors.ts';
import { DEFAULT_GRACE_DAYS } from '../../../trust/freshness.ts';
import { mirrorTrustRepository, PUBLIC_GOOD_TUF_URL } from '../../../trust/mirror.ts';
import type { Command } from '../../command.ts';
import { GRACE_FLAG, readPinnedRoot, withExpiryHint } from './tuf.ts';

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
