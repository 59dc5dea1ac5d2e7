// `airlock trust show`: a trusted_root.json, or an installed one, summarised for review.
import { join, resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { loadTrustedRootFile } from '../../../sigstore/trusted-root.ts';
import { trustDir, validateTrustName } from '../../../trust/install.ts';
import { loadInstalledTrustRoot } from '../../../trust/installed.ts';
import { summariseTrustedRoot } from '../../../trust/trusted-root-summary.ts';
import type { Command, CommandContext } from '../../command.ts';
import { printSummary } from './trusted-root-text.ts';

async function runShow(ctx: CommandContext) {
  const name = ctx.flags.string('name');
  if ((name === undefined) === (ctx.positionals.length === 0)) {
    throw new AirlockError('E_USAGE', 'airlock trust show takes a FILE or --name NAME (one of them)');
  }
  let path = ctx.positionals[0] ?? '';
  if (name !== undefined) {
    const installed = await loadInstalledTrustRoot(ctx.stateDir, validateTrustName(name), ctx.now());
    if (!installed)
      throw new AirlockError('E_TRUST_ROOT_MISSING', `no trust root named '${name}' is installed`, {
        hint: "see 'airlock trust status'",
      });
    for (const warning of installed.warnings) ctx.out.warn(warning);
    path = join(trustDir(ctx.stateDir, name), 'current', 'trusted_root.json');
  }
  const loaded = await loadTrustedRootFile(resolve(ctx.cwd, path));
  const summary = summariseTrustedRoot(loaded.root);
  ctx.out.info(`${ctx.out.paint('bold', 'trusted root')} ${path} (${loaded.digest})`);
  printSummary(ctx.out, summary);
  return { json: { path, digest: loaded.digest, ...summary } };
}

export const trustShowCommand: Command = {
  name: 'trust show',
  summary: 'Summarise a trusted_root.json: CAs, TSAs, logs, log IDs and validity windows',
  usage: 'FILE | --name NAME',
  description:
    "Log IDs are recomputed from the keys (RFC 6962 or the C2SP checkpoint key ID for the URL's host) and a\n" +
    'mismatch is reported, as is anything @sigstore/verify cannot load. The file must parse as a trusted root.',
  flags: { name: { type: 'string', value: 'NAME', description: 'Show the installed trust root NAME' } },
  positionals: { min: 0, max: 1 },
  examples: [
    { command: 'airlock trust show trusted_root.json', description: 'Review a root before installing it' },
    { command: 'airlock trust show --name public-good', description: 'The installed public-good root' },
    {
      command: "airlock trust show trusted_root.json --json | jq '.tlogs[].logId.hex'",
      description: 'Log IDs for scripts',
    },
  ],
  run: runShow,
};
