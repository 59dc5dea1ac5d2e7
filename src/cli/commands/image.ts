import { readFile } from 'node:fs/promises';
import { loadSigner } from '../../crypto/key-ref.ts';
import { keyFingerprint } from '../../crypto/keys.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { copyImage } from '../../oci/copy.ts';
import { formatPlatform, isIndexDoc, parseManifestJson, parsePlatform } from '../../oci/manifest.ts';
import { openImage, resolveImage } from '../../oci/open-store.ts';
import { dockerRepository, formatImageReference, type ImageReference } from '../../oci/reference.ts';
import { attestImage, signImage } from '../../oci/sign-image.ts';
import type { Descriptor, ImageStore } from '../../oci/types.ts';
import { verifyImage } from '../../oci/verify-image.ts';
import { resolvePredicateType } from '../../sigstore/in-toto.ts';
import type { Command, CommandContext } from '../command.ts';
import { KEY_FLAGS, SIGNING_FLAGS } from '../flag-groups.ts';
import { PLATFORM_FLAGS, REGISTRY_FLAGS, registryOptions } from '../image-flags.ts';
import { keyContext } from '../key-context.ts';
import { planSigning } from '../signing-plan.ts';
import { verificationOptions } from '../verify-options.ts';
import { TRUST_FLAGS } from '../verify-plan.ts';

/** Runs fn with the store, then closes it; on failure an archive being written is discarded, not written. */
async function withStore<T>(store: ImageStore & { discard?: () => Promise<void> }, fn: () => Promise<T>): Promise<T> {
  let ok = false;
  try {
    const result = await fn();
    ok = true;
    return result;
  } finally {
    if (!ok && store.discard) await store.discard();
    else await store.close();
  }
}

export const copyCommand: Command = {
  name: 'copy',
  summary: 'Copy an image between layouts, archives and registries, with its signatures and attestations',
  usage: 'SRC DST [flags]',
  description:
    'Transports: oci:DIR[:TAG|@DIGEST], oci-archive:FILE, docker-archive:FILE[:NAME:TAG], [docker://]HOST/REPO[:TAG].\n' +
    'The source tag is resolved to a digest once; every blob is digest-checked while it streams; signatures\n' +
    '(.sig), attestations (.att) and referrers (bundles, SBOMs) come along unless --no-signatures; the\n' +
    'destination tag is written last.',
  flags: { ...PLATFORM_FLAGS, signatures: { type: 'boolean', default: true, description: 'Carry signatures, attestations and referrers (--no-signatures to skip)' }, force: { type: 'boolean', description: 'Overwrite an archive destination' }, ...REGISTRY_FLAGS },
  positionals: { min: 2, max: 2 },
  examples: [
    { command: 'airlock copy registry.corp/app:1.0 oci:/media/usb/layout:app-1.0', description: 'Registry → layout, signatures included' },
    { command: 'airlock copy oci:/media/usb/layout:app-1.0 127.0.0.1:5000/app:1.0 --insecure', description: 'Layout → internal registry' },
    { command: 'airlock copy docker-archive:app.tar oci:layout:app', description: 'What podman save wrote → a layout' },
  ],
  async run(ctx) {
    const registry = await registryOptions(ctx);
    const src = await openImage(ctx.positionals[0] ?? '', 'read', registry);
    return withStore(src.store, async () => {
      const source = await resolveImage(src);
      const dst = await openImage(ctx.positionals[1] ?? '', 'write', registry, ctx.flags.bool('force'));
      const platformText = ctx.flags.string('platform');
      if (platformText && ctx.flags.bool('all-platforms')) throw new AirlockError('E_USAGE', '--platform conflicts with --all-platforms');
      // A local destination without a tag keeps the source's (or "latest"): an untagged copy would be
      // unreachable in the layout's index.
      const tag = dst.tag ?? (dst.ref.transport === 'docker' ? undefined : (src.tag ?? 'latest'));
      const result = await withStore(dst.store, () =>
        copyImage(src.store, source, dst.store, {
          ...(tag ? { tag } : {}),
          ...(platformText ? { platform: parsePlatform(platformText) } : {}),
          signatures: ctx.flags.bool('signatures'),
          onProgress: (p) => ctx.out.progress(`copying: ${p.blobsDone}/${p.blobsTotal} blobs, ${(p.bytesDone / 2 ** 20).toFixed(1)} MiB`),
        }),
      );
      ctx.out.progressDone();
      ctx.out.info(`Copied ${result.digest} → ${formatImageReference(dst.ref)}: ${result.manifests} manifest(s), ${result.blobsCopied} blob(s) copied, ${result.blobsSkipped} already there, ${result.referrers} referrer(s), ${result.signatureTags.length} signature tag(s)`);
      return { json: result };
    });
  },
};

/** The docker-reference a legacy payload names: cosign's registry/repository, or the one given. */
function dockerReferenceFor(ctx: CommandContext, ref: ImageReference): string | undefined {
  const explicit = ctx.flags.string('sign-container-identity');
  if (explicit) return explicit;
  return ref.transport === 'docker' ? dockerRepository(ref) : undefined;
}

const IMAGE_SIGN_FLAGS = {
  ...KEY_FLAGS,
  ...SIGNING_FLAGS,
  'legacy-signature': { type: 'boolean', description: 'Also write cosign\'s .sig/.att tag format (podman, CRI-O, older cosign)' },
  'sign-container-identity': { type: 'string', value: 'REF', description: 'docker-reference for the legacy payload (default: the registry/repository)' },
  ...REGISTRY_FLAGS,
} as const;

async function runSign(ctx: CommandContext, attest: boolean) {
  const plan = planSigning(ctx.flags);
  const predicateType = attest ? resolvePredicateType(ctx.flags.string('type') ?? 'custom') : undefined;
  const predicatePath = attest ? ctx.flags.string('predicate') : undefined;
  if (attest && !predicatePath) throw new AirlockError('E_USAGE', 'attest needs --predicate FILE');
  const image = await openImage(ctx.positionals[0] ?? '', 'read', await registryOptions(ctx));
  return withStore(image.store, async () => {
    const subject = await resolveImage(image);
    const legacyRef = ctx.flags.bool('legacy-signature') ? dockerReferenceFor(ctx, image.ref) : undefined;
    if (ctx.flags.bool('legacy-signature') && !legacyRef) {
      throw new AirlockError('E_USAGE', '--legacy-signature on a non-registry image needs --sign-container-identity REGISTRY/REPO');
    }
    const signer = await loadSigner(plan.keyRef, keyContext(ctx, { passwordFile: plan.passwordFile }), plan.signingAlgorithm);
    try {
      const base = { signer, witnesses: plan.witnesses, now: ctx.now(), ...(legacyRef ? { legacy: { dockerReference: legacyRef } } : {}) };
      let predicate: unknown;
      if (predicatePath) {
        try {
          predicate = JSON.parse(await readFile(predicatePath, 'utf8'));
        } catch (err) {
          throw err instanceof SyntaxError ? new AirlockError('E_INPUT_MALFORMED', `${predicatePath}: not JSON`) : fromFsError(err, predicatePath);
        }
      }
      const result =
        attest && predicateType
          ? await attestImage(image.store, subject, { ...base, predicateType, predicate, ...(image.ref.transport === 'docker' ? { subjectName: dockerRepository(image.ref) } : {}) })
          : await signImage(image.store, subject, base);
      ctx.audit.subject(formatImageReference(image.ref), subject.digest);
      ctx.audit.detail('key', { fingerprint: keyFingerprint(signer.publicKey), source: signer.description });
      ctx.audit.detail('referrer', result.referrer.digest);
      if (predicateType) ctx.audit.detail('predicateType', predicateType);
      ctx.out.info(`${attest ? 'Attested' : 'Signed'} ${subject.digest} with ${signer.description}: bundle referrer ${result.referrer.digest}${result.legacyTag ? `, legacy ${result.legacyTag}` : ''}`);
      return { json: { ok: true, digest: subject.digest, referrer: result.referrer, legacyTag: result.legacyTag, predicateType: predicateType ?? 'https://sigstore.dev/cosign/sign/v1' } };
    } finally {
      await signer.close();
    }
  });
}

export const signCommand: Command = {
  name: 'sign',
  audit: 'sign',
  summary: 'Sign an image as cosign v3 does (bundle referrer), optionally also the legacy .sig',
  usage: 'IMAGE --key REF [flags]',
  flags: IMAGE_SIGN_FLAGS,
  positionals: { min: 1, max: 1 },
  examples: [
    { command: 'airlock sign oci:layout:app-1.0 --key cosign.key --tlog-upload=false', description: 'Sign inside a layout, offline' },
    { command: 'airlock sign 127.0.0.1:5000/app@sha256:… --key cosign.key --tlog-upload=false --legacy-signature --insecure', description: 'Registry, with the .sig podman reads' },
  ],
  run: (ctx) => runSign(ctx, false),
};

export const attestCommand: Command = {
  name: 'attest',
  audit: 'attest',
  summary: 'Attach a signed in-toto attestation (SBOM, provenance, scan) to an image',
  usage: 'IMAGE --predicate P --type T --key REF [flags]',
  flags: {
    predicate: { type: 'string', value: 'FILE', description: 'The predicate (JSON)' },
    type: { type: 'string', value: 'TYPE', description: 'Predicate type: URI or short name', default: 'custom' },
    ...IMAGE_SIGN_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock attest oci:layout:app --predicate sbom.spdx.json --type spdxjson --key cosign.key --tlog-upload=false', description: 'An SBOM attestation' }],
  run: (ctx) => runSign(ctx, true),
};

async function runVerify(ctx: CommandContext, attestation: boolean) {
  const type = attestation ? (ctx.flags.string('type') ?? 'custom') : undefined;
  const options = await verificationOptions(ctx, type);
  const image = await openImage(ctx.positionals[0] ?? '', 'read', await registryOptions(ctx));
  return withStore(image.store, async () => {
    const subject = await resolveImage(image);
    const result = await verifyImage(image.store, subject, options);
    ctx.audit.subject(formatImageReference(image.ref), subject.digest);
    ctx.audit.detail('signatures', result.results.map((r) => ({ source: r.source, ok: r.ok, ...(r.ok ? {} : { code: r.code }) })));
    if (!result.ok) ctx.audit.reason(`E_SIGNATURE_INVALID: no ${attestation ? 'attestation' : 'signature'} of ${subject.digest} verified (${result.results.length} checked)`);
    for (const r of result.results) {
      const line = `  ${r.ok ? ctx.out.paint('green', 'verified') : ctx.out.paint('red', 'failed  ')} ${r.source} ${r.where}${r.ok ? '' : `: ${r.reason} [${r.code}]`}`;
      ctx.out.info(line);
    }
    if (result.ok) ctx.out.info(ctx.out.paint('green', `Verified OK: ${subject.digest} (${result.results.filter((r) => r.ok).length} of ${result.results.length} ${attestation ? 'attestation(s)' : 'signature(s)'})`));
    else ctx.out.error(result.results.length === 0 ? `no ${attestation ? `${type} attestation` : 'signature'} found for ${subject.digest} [E_SIGNATURE_INVALID]` : `no ${attestation ? 'attestation' : 'signature'} of ${subject.digest} verified [E_SIGNATURE_INVALID]`);
    const json = { ...result, results: result.results.map((r) => ({ ...r, report: r.report ? { ...r.report, error: r.report.error?.toJSON() } : undefined })) };
    return { json, exitCode: result.ok ? 0 : 1 };
  });
}

const VERIFY_FLAGS = { ...TRUST_FLAGS, ...REGISTRY_FLAGS } as const;

export const verifyCommand: Command = {
  name: 'verify',
  audit: 'verify',
  summary: 'Verify the signatures of an image offline (bundle referrers and legacy .sig)',
  usage: 'IMAGE (--key REF | --certificate-identity I --certificate-oidc-issuer U) [flags]',
  flags: VERIFY_FLAGS,
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock verify oci:/media/usb/layout:app --key cosign.pub --insecure-ignore-tlog', description: 'Inside a layout, offline' }],
  run: (ctx) => runVerify(ctx, false),
};

export const verifyAttestationCommand: Command = {
  name: 'verify-attestation',
  audit: 'verify.attestation',
  summary: 'Verify an image\'s attestations of one predicate type offline',
  usage: 'IMAGE --type T (--key REF | --certificate-identity I --certificate-oidc-issuer U) [flags]',
  flags: { type: { type: 'string', value: 'TYPE', description: 'Predicate type (URI or short name)', default: 'custom' }, ...VERIFY_FLAGS },
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock verify-attestation oci:layout:app --type spdxjson --key cosign.pub --insecure-ignore-tlog', description: 'The SBOM attestation' }],
  run: (ctx) => runVerify(ctx, true),
};

async function describeAttached(store: ImageStore, subject: Descriptor) {
  const referrers = await store.listReferrers(subject.digest);
  const tags = (await store.listTags()).filter((t) => t.startsWith(subject.digest.replace(':', '-')));
  return { referrers: referrers.map((r) => ({ digest: r.digest, artifactType: r.artifactType, predicateType: r.annotations?.['dev.sigstore.bundle.predicateType'] })), legacyTags: tags };
}

export const imageInspectCommand: Command = {
  name: 'image inspect',
  summary: 'Digest, platforms, layers, and the signatures and attestations attached to an image',
  usage: 'IMAGE [flags]',
  flags: REGISTRY_FLAGS,
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock image inspect oci:layout:app --json', description: 'Machine-readable' }],
  async run(ctx) {
    const image = await openImage(ctx.positionals[0] ?? '', 'read', await registryOptions(ctx));
    return withStore(image.store, async () => {
      const subject = await resolveImage(image);
      const doc = parseManifestJson(await image.store.getManifest(subject.digest));
      const out: Record<string, unknown> = { reference: formatImageReference(image.ref), digest: subject.digest, mediaType: subject.mediaType, ...(await describeAttached(image.store, subject)) };
      ctx.out.info(`${formatImageReference(image.ref)}\n  digest     ${subject.digest}\n  mediaType  ${subject.mediaType}`);
      if (isIndexDoc(doc)) {
        out.platforms = doc.manifests.map((m) => ({ platform: formatPlatform(m.platform), digest: m.digest, size: m.size }));
        for (const m of doc.manifests) ctx.out.info(`  platform   ${formatPlatform(m.platform).padEnd(16)} ${m.digest}`);
      } else {
        out.config = doc.config;
        out.layers = doc.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
        out.size = doc.layers.reduce((n, l) => n + l.size, doc.config.size);
        for (const l of doc.layers) ctx.out.info(`  layer      ${l.digest}  ${(l.size / 1024).toFixed(1)} KiB`);
      }
      const attached = out as { referrers: Array<{ digest: string; artifactType?: string; predicateType?: string }>; legacyTags: string[] };
      for (const r of attached.referrers) ctx.out.info(`  referrer   ${r.digest}  ${r.artifactType ?? ''} ${r.predicateType ?? ''}`);
      for (const t of attached.legacyTags) ctx.out.info(`  tag        ${t}`);
      return { json: out };
    });
  },
};
