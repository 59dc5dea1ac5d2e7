// `airlock verify` / `verify-attestation`: an image's attached signatures or attestations, or one bundle
// kept beside the image (--bundle FILE, cosign's offline form), verified offline against the image's
// manifest digest. verify-attestation --output-file hands on the predicates that verified (an SBOM on the
// far side of the gap), and only those.
import { AirlockError } from '../../../errors.ts';
import { pathExists, writeFileAtomic } from '../../../files/atomic-write.ts';
import { readFileBounded } from '../../../files/read-file.ts';
import { openImage, resolveImage, withStore } from '../../../oci/open-store.ts';
import { formatImageReference, parseImageReference } from '../../../oci/reference.ts';
import { type ImageVerification, verifyImage, verifyImageBundle } from '../../../oci/verify-image.ts';
import { MAX_BUNDLE_BYTES } from '../../../sigstore/limits.ts';
import type { Command, CommandContext } from '../../command.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';
import { TRUST_FLAGS, verificationOptions } from '../../options/trust.ts';

/** Bounded whatever the path is: a FIFO or `<(...)` has no size to check first. */
async function readBundleFile(path: string): Promise<unknown> {
  const text = (await readFileBounded(path, MAX_BUNDLE_BYTES, 'a Sigstore bundle')).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AirlockError('E_BUNDLE_MALFORMED', `${path}: bundle is not JSON`, { cause: err });
  }
}

/** --output-file: '-' is stdout, which --json already owns; a file is refused now if it exists. */
async function outputTarget(ctx: CommandContext): Promise<string | undefined> {
  const target = ctx.flags.string('output-file');
  if (target === '-' && ctx.out.json)
    throw new AirlockError('E_USAGE', '--output-file - conflicts with --json: both write stdout');
  if (target && target !== '-' && !ctx.flags.bool('force') && (await pathExists(target))) {
    throw new AirlockError('E_OUTPUT_EXISTS', `${target} already exists`, { hint: 'pass --force to overwrite it' });
  }
  return target;
}

/**
 * The predicates of the attestations that verified, one compact JSON document per line: a single
 * predicate is the document itself. The same predicate attested twice is written once.
 */
async function writePredicates(ctx: CommandContext, target: string, predicates: readonly unknown[]): Promise<number> {
  const lines = [...new Set(predicates.map((p) => JSON.stringify(p)))];
  const text = lines.map((l) => `${l}\n`).join('');
  if (target === '-') ctx.io.stdout.write(text);
  else await writeFileAtomic(target, text, { overwrite: ctx.flags.bool('force') });
  return lines.length;
}

function report(ctx: CommandContext, result: ImageVerification, what: string, type: string | undefined): void {
  for (const r of result.results) {
    const line =
      `  ${r.ok ? ctx.out.paint('green', 'verified') : ctx.out.paint('red', 'failed  ')} ` +
      `${r.source} ${r.where}${r.ok ? '' : `: ${r.reason} [${r.code}]`}`;
    ctx.out.info(line);
  }
  const plural = type ? 'attestation(s)' : 'signature(s)';
  if (result.ok)
    ctx.out.info(
      ctx.out.paint(
        'green',
        `Verified OK: ${result.digest} (${result.results.filter((r) => r.ok).length} of ` +
          `${result.results.length} ${plural})`,
      ),
    );
  else
    ctx.out.error(
      result.results.length === 0
        ? `no ${type ? `${type} attestation` : 'signature'} found for ${result.digest} [E_SIGNATURE_INVALID]`
        : `no ${what} of ${result.digest} verified [E_SIGNATURE_INVALID]`,
    );
}

async function runVerify(ctx: CommandContext, attestation: boolean) {
  const ref = parseImageReference(ctx.positionals[0] ?? '');
  const type = attestation ? (ctx.flags.string('type') ?? 'custom') : undefined;
  const what = attestation ? 'attestation' : 'signature';
  const output = attestation ? await outputTarget(ctx) : undefined;
  const bundlePath = ctx.flags.string('bundle');
  const bundle = bundlePath === undefined ? undefined : await readBundleFile(bundlePath);
  const options = await verificationOptions(ctx, type);
  const image = await openImage(ref, 'read', await registryOptions(ctx));
  return withStore(image.store, async () => {
    // A tag is resolved here and the manifest checked against the digest it names; a bundle file must
    // then be about that digest, so a tag moved to another image fails, never passes.
    const subject = await resolveImage(image);
    const extras = { keepPredicates: output !== undefined };
    const result =
      bundlePath === undefined
        ? await verifyImage(image.store, subject, options, extras)
        : await verifyImageBundle(subject, bundle, bundlePath, options, extras);
    ctx.audit.subject(formatImageReference(image.ref), subject.digest);
    ctx.audit.detail(
      'signatures',
      result.results.map((r) => ({ source: r.source, where: r.where, ok: r.ok, ...(r.ok ? {} : { code: r.code }) })),
    );
    if (!result.ok)
      ctx.audit.reason(
        `E_SIGNATURE_INVALID: no ${what} of ${subject.digest} verified (${result.results.length} checked)`,
      );
    report(ctx, result, what, type);
    let written: number | undefined;
    if (result.ok && output !== undefined) {
      // A file others act on: not written unless the trail can record this verification.
      if (output !== '-') await ctx.audit.ready();
      written = await writePredicates(ctx, output, result.predicates ?? []);
      ctx.audit.detail('predicatesWritten', { to: output, count: written });
      ctx.out.info(`Wrote ${written} verified predicate(s) to ${output === '-' ? 'stdout' : output}`);
    }
    const { predicates: _kept, ...verdict } = result;
    const json = {
      ...verdict,
      results: result.results.map((r) => ({
        ...r,
        report: r.report ? { ...r.report, error: r.report.error?.toJSON() } : undefined,
      })),
      ...(written === undefined ? {} : { output, predicatesWritten: written }),
    };
    return { json, exitCode: result.ok ? 0 : 1 };
  });
}

const VERIFY_FLAGS = {
  ...TRUST_FLAGS,
  bundle: {
    type: 'string',
    value: 'FILE',
    description:
      'Verify this bundle file (kept beside the image) instead of the attached ones; it must be ' +
      "about the image's digest",
  },
  ...REGISTRY_FLAGS,
} as const;

const VERIFY_DESCRIPTION =
  "Offline always: nothing is fetched but the image itself (--offline, cosign's flag, is accepted and\n" +
  'changes nothing). IMAGE may name a tag: it is resolved in the layout, archive or registry, the\n' +
  'manifest is checked against the digest, and every bundle must be about that digest (cosign needs\n' +
  'IMAGE@sha256:… for --bundle because it does not resolve tags offline; airlock does, and checks).';

export const verifyCommand: Command = {
  name: 'verify',
  audit: 'verify',
  verdict: true,
  summary: 'Verify the signatures of an image offline (bundle referrers and legacy .sig)',
  usage: 'IMAGE (--key REF | --certificate-identity I --certificate-oidc-issuer U) [--bundle FILE] [flags]',
  description: VERIFY_DESCRIPTION,
  flags: VERIFY_FLAGS,
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock verify oci:/media/usb/layout:app --key cosign.pub --insecure-ignore-tlog',
      description: 'Inside a layout, offline',
    },
    {
      command:
        'airlock verify --offline --bundle app.sigstore.json --key cosign.pub ' +
        '--insecure-ignore-tlog registry.internal/app@sha256:…',
      description: "A bundle kept beside the image (cosign's form)",
    },
  ],
  run: (ctx) => runVerify(ctx, false),
};

export const verifyAttestationCommand: Command = {
  name: 'verify-attestation',
  audit: 'verify.attestation',
  verdict: true,
  summary: "Verify an image's attestations of one predicate type offline; --output-file hands on what verified",
  usage:
    'IMAGE --type T (--key REF | --certificate-identity I --certificate-oidc-issuer U) [--output-file FILE|-] [flags]',
  description:
    `${VERIFY_DESCRIPTION}\n` +
    '--output-file writes the predicate of each attestation that verified, and nothing when none did\n' +
    '(exit 1): one compact JSON document per line, so a single SBOM is the SBOM document itself; the same\n' +
    "predicate attested twice is written once. '-' writes stdout. An attestation that did not verify,\n" +
    'or is of another type, is never written.',
  flags: {
    type: { type: 'string', value: 'TYPE', description: 'Predicate type (URI or short name)', default: 'custom' },
    'output-file': {
      type: 'string',
      value: 'FILE|-',
      description: 'Write the verified predicates to FILE (- for stdout), one JSON document per line',
    },
    force: { type: 'boolean', description: 'Overwrite --output-file FILE if it exists' },
    ...VERIFY_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock verify-attestation oci:layout:app --type spdxjson --key cosign.pub --insecure-ignore-tlog',
      description: 'The SBOM attestation',
    },
    {
      command:
        'airlock verify-attestation oci:/media/usb/pkg/oci:1-app-1.0 --type spdxjson --key ' +
        'cosign.pub --insecure-ignore-tlog --output-file sbom.spdx.json',
      description: 'The SBOM out of a transfer package folder, once verified',
    },
    {
      command:
        'airlock verify-attestation registry.internal/app:1.0 --type spdxjson --key cosign.pub ' +
        '--insecure-ignore-tlog --output-file - | jq .name',
      description: 'To stdout',
    },
  ],
  run: (ctx) => runVerify(ctx, true),
};
