import { access } from 'node:fs/promises';
import { AirlockError } from '../../errors.ts';
import type { VerificationReport } from '../../sigstore/verify/report.ts';
import { verifyBlob } from '../../sigstore/verify/verify-blob.ts';
import type { Command, CommandContext } from '../command.ts';
import type { Output } from '../output.ts';
import { verificationOptions } from '../verify-options.ts';
import { artifactArgument, TRUST_FLAGS } from '../verify-plan.ts';

function printReport(out: Output, report: VerificationReport): void {
  if (!report.ok) {
    out.error(`verification failed: ${report.error?.message} [${report.error?.code}]`);
    const details = report.error?.details;
    if (details && 'expected' in details) out.info(`  expected: ${JSON.stringify(details.expected)}\n  found:    ${JSON.stringify(details.found)}`);
    return;
  }
  out.info(out.paint('green', 'Verified OK'));
  const signer = report.signer;
  if (signer?.type === 'key') out.info(`  signed by   key ${signer.fingerprint}`);
  if (signer?.type === 'certificate') out.info(`  signed by   ${signer.subjectAlternativeName} (issuer ${signer.issuer})`);
  for (const t of report.timestamps ?? []) out.info(`  signed at   ${t.time} (${t.source === 'tsa' ? 'RFC 3161 timestamp' : `log entry ${t.logIndex}`})`);
  if ((report.timestamps ?? []).length === 0) {
    const why = (report.tlogEntries ?? []).length > 0 ? 'its log entry carries no signed time (Rekor v2) and no timestamp was given' : 'key signature checked without a log or timestamp';
    out.info(`  signed at   (no trusted time: ${why})`);
  }
  for (const e of report.tlogEntries ?? []) out.info(`  log entry   #${e.logIndex} ${e.kind}, ${e.proof}`);
  if (report.predicateType) out.info(`  predicate   ${report.predicateType}`);
  out.info(`  checks      ${report.checks.map((c) => c.name).join(', ')}`);
}

async function run(ctx: CommandContext) {
  const { flags, out } = ctx;
  const bundlePath = flags.string('bundle');
  const options = await verificationOptions(ctx, flags.string('type'));
  if (!bundlePath) throw new AirlockError('E_USAGE', 'verify-blob needs --bundle FILE');
  const arg = ctx.positionals[0] ?? '';
  const artifact = artifactArgument(arg, await access(arg).then(() => true, () => false));
  const report = await verifyBlob(artifact, { path: bundlePath }, options);
  printReport(out, report);
  ctx.audit.subject(arg, Object.values(report.artifact.digests ?? {})[0]);
  ctx.audit.detail('bundle', bundlePath);
  if (report.signer) ctx.audit.detail('signer', report.signer);
  if (report.error) ctx.audit.reason(`${report.error.code}: ${report.error.message}`);
  const json = { ...report, error: report.error?.toJSON() };
  return { json, exitCode: report.ok ? 0 : (report.error?.exitCode ?? 1) };
}

const flags = {
  bundle: { type: 'string', value: 'FILE', description: 'The Sigstore bundle to verify' },
  type: { type: 'string', value: 'TYPE', description: 'Require a DSSE attestation with this predicate type (URI or short name)' },
  ...TRUST_FLAGS,
} as const;

export const verifyBlobCommand: Command = {
  name: 'verify-blob',
  audit: 'verify',
  aliases: ['verify-blob-attestation'],
  summary: 'Verify a file (or its digest) against a Sigstore bundle, offline',
  usage: 'FILE|sha256:<hex> --bundle B (--key REF | --certificate-identity I --certificate-oidc-issuer U) [flags]',
  description:
    'Never touches the network: trust comes from --key or the pinned identity + issuer, and from the trust\n' +
    'root (--trusted-root, or the one installed by `airlock trust import`). Exit 0 verified, 1 not verified\n' +
    '(the code says why), 2 usage, 3 could not evaluate (missing file, no trust root).\n' +
    'verify-blob-attestation is the same command (cosign spelling); --type then names the predicate.',
  flags,
  positionals: { min: 1, max: 1 },
  examples: [
    { command: 'airlock verify-blob app.tar --bundle app.sigstore.json --key cosign.pub --insecure-ignore-tlog', description: 'Key-signed, offline bundle' },
    {
      command:
        "airlock verify-blob app.tar --bundle app.sigstore.json --trusted-root trusted_root.json \\\n    --certificate-identity 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main' \\\n    --certificate-oidc-issuer https://token.actions.githubusercontent.com",
      description: 'Keyless bundle, pinned identity',
    },
    { command: 'airlock verify-blob sha256:5891b5b5... --bundle app.sigstore.json --key cosign.pub', description: 'Only the digest is known' },
    { command: 'airlock verify-blob-attestation app.tar --bundle sbom.sigstore.json --type spdxjson --key cosign.pub --insecure-ignore-tlog', description: 'An attestation of a given type' },
  ],
  run,
};
