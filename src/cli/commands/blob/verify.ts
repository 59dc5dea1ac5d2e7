import { access } from 'node:fs/promises';
import { AirlockError } from '../../../errors.ts';
import { isDigestString } from '../../../crypto/digest.ts';
import { readFileBounded } from '../../../files/read-file.ts';
import type { VerificationReport } from '../../../sigstore/verify/report.ts';
import { verifyBlob } from '../../../sigstore/verify/verify-blob.ts';
import type { Flags } from '../../args.ts';
import type { Command, CommandContext } from '../../command.ts';
import type { Output } from '../../output.ts';
import { TRUST_FLAGS, verificationOptions } from '../../options/trust.ts';

function printReport(out: Output, report: VerificationReport): void {
  if (!report.ok) {
    out.error(`verification failed: ${report.error?.message} [${report.error?.code}]`);
    const details = report.error?.details;
    if (details && 'expected' in details)
      out.info(`  expected: ${JSON.stringify(details.expected)}\n  found:    ${JSON.stringify(details.found)}`);
    return;
  }
  out.info(out.paint('green', 'Verified OK'));
  const signer = report.signer;
  if (signer?.type === 'key') out.info(`  signed by   key ${signer.fingerprint}`);
  if (signer?.type === 'certificate')
    out.info(`  signed by   ${signer.subjectAlternativeName} (issuer ${signer.issuer})`);
  for (const t of report.timestamps ?? [])
    out.info(`  signed at   ${t.time} (${t.source === 'tsa' ? 'RFC 3161 timestamp' : `log entry ${t.logIndex}`})`);
  if ((report.timestamps ?? []).length === 0) {
    const why =
      (report.tlogEntries ?? []).length > 0
        ? 'its log entry carries no signed time (Rekor v2) and no timestamp was given'
        : 'key signature checked without a log or timestamp';
    out.info(`  signed at   (no trusted time: ${why})`);
  }
  for (const e of report.tlogEntries ?? []) out.info(`  log entry   #${e.logIndex} ${e.kind}, ${e.proof}`);
  if (report.predicateType) out.info(`  predicate   ${report.predicateType}`);
  out.info(`  checks      ${report.checks.map((c) => c.name).join(', ')}`);
}

/** A detached signature is one signature: far below this. */
const MAX_SIGNATURE_BYTES = 64 * 1024;

/**
 * --bundle FILE, or --signature FILE (a detached signature, as `sign-blob --output-signature` and cosign
 * write it): checked against the flags before anything is read. A detached signature carries no log
 * entry or certificate, so it needs --key and --insecure-ignore-tlog.
 */
function signatureSource(flags: Flags): { bundle: string } | { signature: string } {
  const bundle = flags.string('bundle');
  const signature = flags.string('signature');
  if (bundle !== undefined && signature !== undefined)
    throw new AirlockError('E_USAGE', '--bundle and --signature conflict: a bundle carries its signature');
  if (signature === undefined) {
    if (bundle === undefined)
      throw new AirlockError('E_USAGE', 'verify-blob needs --bundle FILE (or --signature FILE with --key)');
    return { bundle };
  }
  if (!flags.has('key')) {
    throw new AirlockError(
      'E_USAGE',
      '--signature verifies a detached signature with --key only: keyless signatures need their ' +
        'certificate and log entry, which only a bundle carries',
      {
        hint: 'verify keyless signatures with --bundle',
      },
    );
  }
  if (flags.has('type'))
    throw new AirlockError(
      'E_USAGE',
      '--type needs an attestation, which comes in a bundle; --signature is a plain signature',
    );
  if (!flags.bool('insecure-ignore-tlog')) {
    throw new AirlockError(
      'E_USAGE',
      'a detached signature carries no transparency-log entry: add --insecure-ignore-tlog to ' +
        'verify it against --key alone',
      {
        hint: 'a bundle (sign-blob --bundle) carries the log entry when there is one',
      },
    );
  }
  return { signature };
}

/** cosign's signature file: base64 of the signature (a trailing newline allowed), or the raw bytes. */
async function readDetachedSignature(path: string): Promise<Uint8Array> {
  const bytes = await readFileBounded(path, MAX_SIGNATURE_BYTES, 'a detached signature');
  const text = bytes.toString('latin1').trim();
  const decoded = Buffer.from(text, 'base64');
  if (
    text.length > 0 &&
    /^[A-Za-z0-9+/]+={0,2}$/.test(text) &&
    decoded.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '')
  )
    return decoded;
  return bytes;
}

/** FILE_OR_DIGEST as the conformance protocol has it: sha256:<hex> when it is not an existing path. */
export function artifactArgument(arg: string, exists: boolean): { path: string } | { digest: string } {
  return !exists && isDigestString(arg) ? { digest: arg } : { path: arg };
}

async function run(ctx: CommandContext) {
  const { flags, out } = ctx;
  const source = signatureSource(flags);
  const options = await verificationOptions(ctx, flags.string('type'));
  const arg = ctx.positionals[0] ?? '';
  const artifact = artifactArgument(
    arg,
    await access(arg).then(
      () => true,
      () => false,
    ),
  );
  const bundle =
    'bundle' in source ? { path: source.bundle } : { detachedSignature: await readDetachedSignature(source.signature) };
  const report = await verifyBlob(artifact, bundle, options);
  printReport(out, report);
  ctx.audit.subject(arg, Object.values(report.artifact.digests ?? {})[0]);
  ctx.audit.detail('bundle' in source ? 'bundle' : 'signature', 'bundle' in source ? source.bundle : source.signature);
  if (report.signer) ctx.audit.detail('signer', report.signer);
  if (report.error) ctx.audit.reason(`${report.error.code}: ${report.error.message}`);
  const json = { ...report, error: report.error?.toJSON() };
  return { json, exitCode: report.ok ? 0 : (report.error?.exitCode ?? 1) };
}

const flags = {
  bundle: { type: 'string', value: 'FILE', description: 'The Sigstore bundle to verify' },
  signature: {
    type: 'string',
    value: 'FILE',
    description:
      'A detached signature (base64, as sign-blob --output-signature and cosign write it) ' +
      'instead of a bundle; with --key and --insecure-ignore-tlog',
  },
  type: {
    type: 'string',
    value: 'TYPE',
    description: 'Require a DSSE attestation with this predicate type (URI or short name)',
  },
  ...TRUST_FLAGS,
} as const;

export const verifyBlobCommand: Command = {
  name: 'verify-blob',
  audit: 'verify',
  verdict: true,
  aliases: ['verify-blob-attestation'],
  summary: 'Verify a file (or its digest) against a Sigstore bundle, offline',
  usage:
    'FILE|sha256:<hex> (--bundle B (--key REF | --certificate-identity I ' +
    '--certificate-oidc-issuer U) | --signature SIG --key REF --insecure-ignore-tlog) [flags]',
  description:
    'Never touches the network: trust comes from --key or the pinned identity + issuer, and from the trust\n' +
    'root (--trusted-root, or the one installed by `airlock trust import`). Exit 0 verified, 1 not verified\n' +
    '(the code says why), 2 usage, 3 could not evaluate (missing file, no trust root).\n' +
    'verify-blob-attestation is the same command (cosign spelling); --type then names the predicate.',
  flags,
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock verify-blob app.tar --bundle app.sigstore.json --key cosign.pub --insecure-ignore-tlog',
      description: 'Key-signed, offline bundle',
    },
    {
      command:
        'airlock verify-blob app.tar --bundle app.sigstore.json --trusted-root trusted_root.json ' +
        '\\\n    --certificate-identity ' +
        "'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main' \\\n    " +
        '--certificate-oidc-issuer https://token.actions.githubusercontent.com',
      description: 'Keyless bundle, pinned identity',
    },
    {
      command: 'airlock verify-blob sha256:5891b5b5... --bundle app.sigstore.json --key cosign.pub',
      description: 'Only the digest is known',
    },
    {
      command: 'airlock verify-blob app.tar --signature app.tar.sig --key cosign.pub --insecure-ignore-tlog',
      description: 'A detached signature (cosign sign-blob --output-signature)',
    },
    {
      command:
        'airlock verify-blob-attestation app.tar --bundle sbom.sigstore.json --type spdxjson ' +
        '--key cosign.pub --insecure-ignore-tlog',
      description: 'An attestation of a given type',
    },
  ],
  run,
};
