// `airlock import` (air-gapped side): verify a package in one streaming pass, then push its images by
// digest and move the tags, each effect recorded first; --recover finishes an import a crash left half-way.
import { AirlockError } from '../../../errors.ts';
import type { NoteVerifier } from '../../../log/note.ts';
import type { Command, CommandContext } from '../../command.ts';
import { httpUrl } from '../../http-url.ts';
import { CARRIED_VULNDB_FLAGS, carriedVulnDbOption } from '../../options/carried-vulndb.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';
import { registryTarget } from '../../options/registry-target.ts';
import { vkeyText } from '../../vkey-text.ts';
import { transferProgressOption } from '../../progress.ts';
import { checkOptions, IMPORT_FLAGS } from './import-checks.ts';
import { printReport, reportJson } from './import-report.ts';

/** --rekor-url with the log's pinned key: an entry the log returns is attached only once proven in it. */
async function rekorTarget(ctx: CommandContext): Promise<{ rekor?: { url: string; logVerifier: NoteVerifier } }> {
  const url = ctx.flags.string('rekor-url');
  const vkey = ctx.flags.string('rekor-vkey');
  if (url === undefined) {
    if (vkey !== undefined) throw new AirlockError('E_USAGE', '--rekor-vkey belongs to --rekor-url');
    return {};
  }
  if (vkey === undefined)
    throw new AirlockError(
      'E_USAGE',
      "--rekor-url needs --rekor-vkey VKEY|FILE, the log's key: entries it returns are checked " +
        'before they are attached',
      { hint: '`airlock log serve` writes it to DATA/log.vkey' },
    );
  const { parseVerifierKey } = await import('../../../log/note-keys.ts');
  return {
    rekor: {
      url: httpUrl(url, '--rekor-url', { prefix: true }),
      logVerifier: parseVerifierKey(await vkeyText(ctx, vkey)).verifier,
    },
  };
}

/**
 * The intents this machine's audit trail holds for an import: what a journal left half-way is checked
 * against before anything is done with it. The trail is verified whole first.
 */
function auditIntents(ctx: CommandContext) {
  return async (importId: string): Promise<Array<Readonly<Record<string, unknown>>>> => {
    const { verifyAuditLog } = await import('../../../audit/audit-log.ts');
    const { sharedAuditTrail } = await import('../../options/audit-url.ts');
    const shared = await sharedAuditTrail(ctx.env);
    const v = await verifyAuditLog(ctx.stateDir, shared ? { shared } : {});
    if (!v.ok)
      throw new AirlockError(
        'E_LOG_CORRUPT',
        'the audit trail does not verify: an import left half-way cannot be checked against it',
        { hint: 'airlock audit verify' },
      );
    return v.events
      .filter(
        (e) =>
          ['transfer.import.tags', 'transfer.import.recover'].includes(e.event.action) &&
          e.event.details?.importId === importId &&
          e.event.details?.phase === 'intent',
      )
      .map((e) => e.event.details ?? {});
  };
}

async function recover(ctx: CommandContext, registry: { host: string; prefix?: string }) {
  const { recoverImports } = await import('../../../transfer/import.ts');
  await ctx.audit.ready();
  const done = await recoverImports({
    stateDir: ctx.stateDir,
    registry: { ...registry, options: await registryOptions(ctx) },
    record: ctx.audit.record,
    intents: auditIntents(ctx),
    ...transferProgressOption(ctx),
  });
  ctx.out.progressDone();
  for (const d of done)
    ctx.out.info(
      d.outcome === 'finished'
        ? `Finished import ${d.importId}: channel ${d.channel} #${d.number}`
        : `Dropped the record of import ${d.importId} (channel ${d.channel} #${d.number}): it ` +
            `stopped before it moved anything`,
    );
  if (done.length === 0) ctx.out.info(`No import on ${registry.host} was left half-way`);
  return { json: { ok: true, recovered: done } };
}

export const importCommand: Command = {
  name: 'import',
  summary: 'Verify a transfer package and push its images to the internal registry (air-gapped side)',
  usage:
    'PACKAGE --registry HOST[/PREFIX] (--channel NAME | --channels FILE) (--signers FILE | ' +
    '--keyring FILE | --signer-key REF | --signer-identity SAN --signer-oidc-issuer URL) ' +
    '[--require-signers K] [image trust flags] | --recover --registry HOST',
  description:
    "One streaming pass: the manifest's signers (at least K distinct people or teams; a keyless signature\n" +
    'counts for the signer whose identity it verifies under --trusted-root), the channel (accepted\n' +
    "here, the package younger than --max-age) and the package's place on it are checked before any payload\n" +
    'byte is accepted; then every file must be listed and match its hash, the SBOM and scan documents are\n' +
    'recomputed, every image must verify with the image trust flags. Only then: images pushed by digest, then\n' +
    'the tags. What is guaranteed: a refused or failed import before the tags moves nothing (no tag, channel\n' +
    'state unchanged, the package untouched). A registry cannot move several tags at once, so before the\n' +
    'first tag moves the import records its intent (each tag from → to) in the audit trail and a journal; a\n' +
    'crash or registry error while tags move leaves it incomplete (E_IMPORT_INCOMPLETE, shown by import and\n' +
    '`audit verify`) until the next import on the channel or `import --recover` finishes it. Re-running the\n' +
    'same package is idempotent. --rekor-url appends each verified image signature to the on-prem log\n' +
    '(recorded first, before anything is pushed) and attaches the bundle with its entry as one more referrer;\n' +
    'the entry names what verified the signature: the key (--key, or a --policy key) or, for a keyless\n' +
    "signature, the bundle's own certificate.",
  flags: {
    registry: { type: 'string', value: 'HOST[/PREFIX]', description: 'Internal registry to push to' },
    recover: { type: 'boolean', description: 'Finish the imports to --registry that stopped half-way (no PACKAGE)' },
    'rekor-url': {
      type: 'string',
      value: 'URL',
      description: 'Append each verified image signature to this on-prem log; attach the bundle with its entry',
    },
    'rekor-vkey': {
      type: 'string',
      value: 'VKEY|FILE',
      description:
        "With --rekor-url: the log's verifier key (log serve writes DATA/log.vkey); each entry " +
        'must prove inclusion under it',
    },
    ...IMPORT_FLAGS,
    ...CARRIED_VULNDB_FLAGS,
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 0, max: 1 },
  examples: [
    {
      command:
        'airlock import app-1.0.tar --registry registry.internal/mirror --channel prod --signers ' +
        'signers.json --require-signers 2 --key cosign.pub --insecure-ignore-tlog',
      description: 'Two-person rule on the manifest, key-signed images',
    },
    {
      command:
        'airlock import app.pkg.tar --registry registry.internal --channel prod --signer-identity ' +
        'https://kubernetes.io/namespaces/ci/serviceaccounts/release --signer-oidc-issuer ' +
        'https://kubernetes.default.svc --trusted-root root.json --ctlog-threshold 0 --key cosign.pub',
      description: 'A package packed keyless (pack --sign, no --key) inside the gap, under the private root',
    },
    {
      command: 'airlock import --recover --registry registry.internal',
      description: 'Finish an import a crash left half-way',
    },
  ],
  async run(ctx) {
    const target = ctx.flags.string('registry');
    if (!target) throw new AirlockError('E_USAGE', 'import needs --registry HOST[/PREFIX]');
    const registry = registryTarget(target);
    if (ctx.flags.bool('recover')) {
      if (ctx.positionals.length > 0)
        throw new AirlockError('E_USAGE', '--recover takes no PACKAGE: it finishes what the journal names');
      return recover(ctx, registry);
    }
    if (ctx.positionals.length !== 1)
      throw new AirlockError('E_USAGE', 'import takes one PACKAGE', {
        hint: `usage: airlock import ${importCommand.usage}`,
      });
    if (!ctx.flags.has('channel') && !ctx.flags.has('channels')) {
      throw new AirlockError(
        'E_USAGE',
        'import needs the channels this side accepts: --channel NAME (repeatable) or --channels FILE',
        {
          hint:
            'a package on a channel nobody named is refused, even its first one: naming the ' +
            'channel is what accepts it',
        },
      );
    }
    const options = { ...(await checkOptions(ctx)), ...(await rekorTarget(ctx)) };
    const { importTransfer } = await import('../../../transfer/import.ts');
    await ctx.audit.ready();
    const report = await importTransfer({
      source: ctx.positionals[0] ?? '',
      ...options,
      allowGap: ctx.flags.bool('allow-gap'),
      stateDir: ctx.stateDir,
      now: ctx.now(),
      registry: { ...registry, options: await registryOptions(ctx) },
      ...transferProgressOption(ctx),
      record: ctx.audit.record,
      intents: auditIntents(ctx),
      vulndb: await carriedVulnDbOption(ctx),
    });
    ctx.out.progressDone();
    printReport(ctx, report, 'Import');
    return { json: reportJson(report), exitCode: report.ok ? 0 : (report.error?.exitCode ?? 1) };
  },
};
