// `airlock pack` (connected side): images and files into a signed, sequenced transfer package, each
// image's signatures checked with the trust the far side will use.
import { resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import type { PackResult } from '../../../transfer/pack.ts';
import type { Severity } from '../../../transfer/scan.ts';
import type { Command, CommandContext } from '../../command.ts';
import { KEY_FLAGS } from '../../options/key.ts';
import { MANIFEST_SIGNING_FLAGS, manifestSigning, openManifestSigner } from '../../options/manifest-signing.ts';
import { PACK_CONTENT_FLAGS, packContents } from '../../options/pack-contents.ts';
import { PACK_TRUST_FLAGS, packTrustOption } from '../../options/pack-trust.ts';
import { PACKAGE_OUTPUT_FLAGS, packageOutput } from '../../options/package-output.ts';
import { PGP_FLAGS, pgpSigningKey } from '../../options/pgp-signing.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';
import { gateOptions, SCAN_GATE_FLAGS } from '../../options/scan.ts';
import { transferProgressOption } from '../../progress.ts';
import type { GeneratedDocuments } from './pack-generate.ts';

/** skopeo, found on PATH, when some image is in podman's store (containers-storage:). */
async function skopeoOption(ctx: CommandContext, images: readonly string[]): Promise<{ skopeo?: string }> {
  if (!images.some((i) => i.startsWith('containers-storage:'))) return {};
  const { findExecutable } = await import('../../../tools/external.ts');
  const skopeo = await findExecutable('skopeo', ctx.env.PATH);
  return skopeo ? { skopeo } : {};
}

/** --fail-on SEVERITY: findings at or above it (and of unknown severity) refuse the pack. */
async function failOnOption(ctx: CommandContext): Promise<Severity | undefined> {
  const text = ctx.flags.string('fail-on');
  if (!text) return undefined;
  const { parseSeverity } = await import('../../../transfer/scan.ts');
  return parseSeverity(text);
}

async function runPack(ctx: CommandContext) {
  const { out, format, overwrite } = packageOutput(ctx, 'pack needs -o OUT');
  const failOn = await failOnOption(ctx);
  // Without --key, --sign (or a keyless flag) signs keylessly: the plan, token source included, is checked now.
  const signing = await manifestSigning(ctx, ctx.flags.bool('sign'));
  if (signing.kind === 'keyless' && ctx.flags.bool('legacy-signature'))
    // As `sign` refuses it: cosign's .sig would need the certificate beside a Rekor v1 SET airlock does not write.
    throw new AirlockError('E_UNSUPPORTED', '--legacy-signature is not available for keyless signatures', {
      hint: 'keyless images are signed with cosign v3 bundle referrers; pack with --key for .sig tags',
    });
  const given = await packContents(ctx);
  if (signing.kind === 'none' && !ctx.flags.has('pgp-key'))
    throw new AirlockError('E_USAGE', 'the manifest must be signed: pass --key and/or --pgp-key, or --sign keyless', {
      hint: 'keyless: --sign --identity-token @FILE --fulcio-url URL --rekor-url URL (as sign-blob takes them)',
    });
  if (ctx.flags.has('vulndb-key') && !given.generate.scan)
    throw new AirlockError('E_USAGE', '--vulndb-key verifies the --vulndb that --scan generate reads');
  const pgpKey = await pgpSigningKey(ctx);
  const opened = await openManifestSigner(ctx, signing);
  const signer = opened?.signer;
  // An ephemeral key vouches for nothing beyond this command: the vulndb and images are checked against --key only.
  const longLivedKey = signing.kind === 'key' ? signer?.publicKey : undefined;
  let generated: GeneratedDocuments | undefined;
  try {
    // --scan's database is verified with --vulndb-key or else this key, so the signer is opened first.
    if (given.generate.sbom || given.generate.scan)
      generated = await (await import('./pack-generate.ts')).generateDocuments(ctx, given, longLivedKey);
    const contents = generated ? { ...given, sboms: generated.sboms, scans: generated.scans } : given;
    const imageTrust = contents.images.length > 0 ? await packTrustOption(ctx, longLivedKey) : undefined;
    const { packTransfer } = await import('../../../transfer/pack.ts');
    const result = await packTransfer({
      ...contents,
      out,
      format,
      overwrite,
      channel: ctx.flags.string('channel') ?? 'default',
      stateDir: ctx.stateDir,
      now: ctx.now(),
      ...opened?.options,
      signArtifacts: ctx.flags.bool('sign'),
      legacySignature: ctx.flags.bool('legacy-signature'),
      ...(pgpKey ? { pgpKey } : {}),
      ...(failOn ? { failOn } : {}),
      unknownSeverity: gateOptions(ctx).unknownSeverity,
      ...(ctx.flags.string('vulndb') ? { vulndb: resolve(ctx.cwd, ctx.flags.string('vulndb') ?? '') } : {}),
      ...(imageTrust ? { imageTrust } : {}),
      allowUnsigned: ctx.flags.bool('allow-unsigned'),
      ...(await skopeoOption(ctx, contents.images)),
      registry: await registryOptions(ctx),
      ...transferProgressOption(ctx),
      audit: await ctx.audit.log(),
      record: async (r) => {
        await ctx.audit.record(r);
        ctx.audit.successRecorded();
      },
    });
    ctx.out.progressDone();
    printPacked(ctx, out, result, signer !== undefined);
    return { json: { ok: true, out, manifest: result.manifestDigest, metadata: result.metadata } };
  } finally {
    await signer?.close();
    await generated?.cleanup();
  }
}

function printPacked(ctx: CommandContext, out: string, result: PackResult, signed: boolean): void {
  const seq = result.metadata.sequence;
  ctx.out.info(
    `Packed ${result.metadata.artifacts.length} artifact(s) into ${out}: ${result.files} ` +
      `files, manifest ${result.manifestDigest}`,
  );
  for (const a of result.metadata.artifacts) {
    if (a.kind !== 'image') continue;
    const coverage =
      a.coverage && 'verified' in a.coverage
        ? `signatures verified (${a.coverage.verified})`
        : ctx.out.paint('yellow', 'packed WITHOUT a signature check (--allow-unsigned)');
    ctx.out.info(`  image ${a.name} → lands as ${a.destination}: ${coverage}`);
    if (signed && a.sbom && !a.sbom.attestation)
      ctx.out.warn(
        `the SBOM of ${a.name} is too large to be a signed attestation: it travels as a file ` +
          `of the package, covered by the manifest`,
      );
    if (a.sbom?.subject && 'recorded' in a.sbom.subject)
      ctx.out.warn(`the SBOM of ${a.name} names no image: it could not be checked to be about this one`);
    if (a.vulnerabilityScan?.subjects?.some((x) => 'recorded' in x))
      ctx.out.warn(`a scan of ${a.name} names no image: it could not be checked to be about this one`);
  }
  ctx.out.info(
    `  channel ${seq.channel} #${seq.number}` +
      `${seq.previous ? ` (after ${seq.previous.slice(0, 19)}…)` : ' (first)'}`,
  );
}

export const packCommand: Command = {
  name: 'pack',
  audit: 'transfer.pack',
  summary: 'Pack images and files into a signed, sequenced transfer package (connected side)',
  usage:
    'IMAGE|FILE... -o OUT (--key REF | --pgp-key FILE | --sign --identity-token @FILE) (--image-key REF | ' +
    '--certificate-identity ' +
    'I --certificate-oidc-issuer U | --policy FILE | --sign | --allow-unsigned) [flags]',
  description:
    'Images (any transport) travel as an OCI layout with their signatures, attestations and referrers;\n' +
    "files with their bundles. Each image's signatures are checked here with the trust the far side will\n" +
    "use (import's flags; its --key is --image-key here, since --key signs): a coverage gap is refused now,\n" +
    'where it can still be fixed. --sbom/--scan documents travel as files of the package (and, with --key,\n' +
    'as signed attestations); each must be about the image it is packed with. --fail-on refuses findings at\n' +
    'or above a severity, and of unknown severity, and needs a --scan for every image. The manifest\n' +
    '(manifest.sha256) covers every file and is signed with --key (Sigstore bundle, offline) and/or --pgp-key.\n' +
    'Without --key, --sign signs keylessly as sign-blob does (--identity-token, --fulcio-url, --rekor-url,\n' +
    '--tsa-url or --signing-config): the manifest, images and files, each bundle carrying the certificate\n' +
    'and its log entry; import counts it for the signer with that identity (--signer-identity). The\n' +
    'certificate is obtained once, before packing: a pack must end within its validity (minutes).\n' +
    'The channel is locked while packing; its sequence number moves only once the package is in place.',
  flags: {
    output: PACKAGE_OUTPUT_FLAGS.output,
    format: PACKAGE_OUTPUT_FLAGS.format,
    channel: {
      type: 'string',
      value: 'NAME',
      description: 'Transfer channel (sequence numbers are per channel)',
      default: 'default',
    },
    name: PACK_CONTENT_FLAGS.name,
    ...KEY_FLAGS,
    sign: {
      type: 'boolean',
      description: 'Also sign each image and file (and the attestations) with --key; without --key, keyless',
    },
    'legacy-signature': {
      type: 'boolean',
      description: 'With --sign, also write cosign .sig tags for registry images',
    },
    ...PGP_FLAGS,
    ...MANIFEST_SIGNING_FLAGS,
    sbom: PACK_CONTENT_FLAGS.sbom,
    scan: PACK_CONTENT_FLAGS.scan,
    'fail-on': {
      type: 'string',
      value: 'SEVERITY',
      description: 'Refuse findings at/above critical|high|medium|low, or of unknown severity',
    },
    'unknown-severity': SCAN_GATE_FLAGS['unknown-severity'],
    ignore: SCAN_GATE_FLAGS.ignore,
    vulndb: {
      type: 'string',
      value: 'DB',
      description:
        'Carry this vulnerability database (airlock vulndb build; signed) for import to install, and scan with it',
    },
    'vulndb-key': {
      type: 'string',
      value: 'PUBKEY',
      description: "Verify --vulndb's signature with this public key before --scan uses it (default: --key's)",
    },
    ...PACK_TRUST_FLAGS,
    force: PACKAGE_OUTPUT_FLAGS.force,
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  examples: [
    {
      command:
        'airlock pack app.tar --sign --identity-token @/var/run/sigstore/token --fulcio-url https://ca.internal ' +
        '--rekor-url https://log.internal --rekor-api-version 2 --tsa-url https://tsa.internal/tsr -o app.pkg.tar',
      description: 'Keyless: the manifest and the file signed by the CI identity, logged and timestamped',
    },
    {
      command:
        'airlock pack registry.corp/app:1.0 -o app-1.0.tar --key release.key --image-key ' +
        'cosign.pub --insecure-ignore-tlog --sbom registry.corp/app:1.0=sbom.spdx.json --scan ' +
        'registry.corp/app:1.0=grype.json --fail-on critical --name ' +
        'registry.corp/app:1.0=team/app:1.0 --channel prod',
      description:
        'The seed workflow in one command: the release team signs the manifest; the image must verify with cosign.pub',
    },
    {
      command: 'airlock approve app-1.0.tar -o app-1.0.approved.tar --signers signers.json --pgp-key security-team.asc',
      description:
        'Then the security team (another signer) co-signs: two people, as import --require-signers 2 counts them',
    },
  ],
  run: runPack,
};
