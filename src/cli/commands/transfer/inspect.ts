// `airlock inspect`: every check import makes, on a package that is not imported.
import type { Command } from '../../command.ts';
import { registryTarget } from '../../options/registry-target.ts';
import { checkOptions, IMPORT_FLAGS } from './import-checks.ts';
import { printReport, reportJson } from './import-report.ts';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Verify a transfer package without importing it, and report on it',
  usage:
    'PACKAGE (--signers FILE | --keyring FILE | --signer-key REF | --signer-identity SAN ' +
    '--signer-oidc-issuer URL) (--key REF | ' +
    '--certificate-identity I --certificate-oidc-issuer U | --policy FILE) [--channel NAME] ' +
    '[--report FILE.md]',
  description:
    'Every check import makes, nothing pushed and no state moved. Without --channel/--channels the channel\n' +
    "is not checked against the accepted ones, and without --registry the channel's repositories and the\n" +
    'tags other channels own are not (the report says so); destinations are always validated.',
  flags: {
    registry: {
      type: 'string',
      value: 'HOST[/PREFIX]',
      description:
        'Where import would push: destinations, channel repositories and tag owners checked ' +
        'against it (nothing is pushed)',
    },
    ...IMPORT_FLAGS,
    report: { type: 'string', value: 'FILE.md', description: 'Also write the report as Markdown for the auditor' },
    'documents-out': {
      type: 'string',
      value: 'DIR',
      description: "Once verified, write each image's SBOM and scan documents to DIR (LAYOUT-TAG.sbom.json, …)",
    },
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command:
        'airlock inspect app-1.0.tar --signers signers.json --channel prod --key cosign.pub ' +
        '--insecure-ignore-tlog --report app-1.0.md',
      description: 'Check before carrying it in',
    },
    {
      command:
        'airlock inspect app-1.0.tar --signers signers.json --channel prod --key cosign.pub ' +
        '--insecure-ignore-tlog --documents-out sboms/',
      description: 'Read the SBOMs back out of a package (only once it verified)',
    },
  ],
  async run(ctx) {
    const { importTransfer } = await import('../../../transfer/import.ts');
    const documentsOut = ctx.flags.string('documents-out');
    const target = ctx.flags.string('registry');
    const landsOn = target === undefined ? undefined : { ...registryTarget(target), options: {} };
    const report = await importTransfer({
      source: ctx.positionals[0] ?? '',
      ...(await checkOptions(ctx)),
      allowGap: ctx.flags.bool('allow-gap'),
      stateDir: ctx.stateDir,
      now: ctx.now(),
      record: ctx.audit.record,
      ...(documentsOut ? { documentsOut } : {}),
      ...(landsOn ? { landsOn } : {}),
    });
    printReport(ctx, report, 'Inspection');
    const md = ctx.flags.string('report');
    if (md) {
      const { markdownReport } = await import('../../../transfer/report.ts');
      const { writeFileAtomic } = await import('../../../files/atomic-write.ts');
      await writeFileAtomic(md, markdownReport(ctx.positionals[0] ?? '', report, ctx.now()), { overwrite: true });
    }
    return { json: reportJson(report), exitCode: report.ok ? 0 : (report.error?.exitCode ?? 1) };
  },
};
