// `airlock sign` / `attest`: a signature or attestation attached to an image as cosign v3 attaches it,
// and with --bundle also written to a file, to keep beside an image that travels without its referrers.
import { keyFingerprint } from '../../../crypto/keys.ts';
import { AirlockError } from '../../../errors.ts';
import { pathExists, writeFileAtomic } from '../../../files/atomic-write.ts';
import { openImage, resolveImage, withStore } from '../../../oci/open-store.ts';
import {
  dockerRepository,
  formatImageReference,
  type ImageReference,
  parseImageReference,
} from '../../../oci/reference.ts';
import { attestImage, signImage } from '../../../oci/sign-image.ts';
import { resolvePredicateType } from '../../../sigstore/in-toto.ts';
import type { Command, CommandContext } from '../../command.ts';
import { REGISTRY_FLAGS, registryOptions } from '../../options/registry.ts';
import { readJsonFile } from '../../../files/read-json.ts';
import { MAX_PREDICATE_BYTES } from '../../../sigstore/limits.ts';
import { KEY_FLAGS } from '../../options/key.ts';
import { certificateSummary, openSigner, tokenSourceFor } from '../../options/keyless.ts';
import { SIGNING_FLAGS, type SigningPlan, signingPlan } from '../../options/signing.ts';

/** The docker-reference a legacy payload names: cosign's registry/repository, or the one given. */
function dockerReferenceFor(ctx: CommandContext, ref: ImageReference): string | undefined {
  const explicit = ctx.flags.string('sign-container-identity');
  if (explicit) return explicit;
  return ref.transport === 'docker' ? dockerRepository(ref) : undefined;
}

const IMAGE_SIGN_FLAGS = {
  ...KEY_FLAGS,
  ...SIGNING_FLAGS,
  bundle: {
    type: 'string',
    value: 'FILE',
    description: 'Also write the Sigstore bundle to FILE (it is attached to the image either way)',
  },
  force: { type: 'boolean', description: 'Overwrite --bundle FILE if it exists' },
  'legacy-signature': {
    type: 'boolean',
    description: "Also write cosign's .sig/.att tag format (podman, CRI-O, older cosign)",
  },
  'sign-container-identity': {
    type: 'string',
    value: 'REF',
    description: 'docker-reference for the legacy payload (default: the registry/repository)',
  },
  ...REGISTRY_FLAGS,
} as const;

/** The predicate, bounded: larger, its bundle would be more than a verifier reads (sigstore/limits.ts). */
function readPredicate(path: string): Promise<unknown> {
  return readJsonFile(path, 'the predicate', MAX_PREDICATE_BYTES);
}

/**
 * cosign's legacy .sig/.att carries a keyless certificate in layer annotations next to a Rekor v1
 * SET, which verifiers of that format require; airlock writes neither, so keyless signs the bundle
 * referrer only.
 */
function refuseKeylessLegacy(ctx: CommandContext, plan: SigningPlan): void {
  if (plan.keyless && ctx.flags.bool('legacy-signature')) {
    throw new AirlockError('E_UNSUPPORTED', '--legacy-signature is not available for keyless signatures', {
      hint:
        'keyless signatures are attached as cosign v3 bundle referrers (and --bundle FILE); ' +
        'sign with --key for .sig',
    });
  }
}

async function runSign(ctx: CommandContext, attest: boolean) {
  const ref = parseImageReference(ctx.positionals[0] ?? '');
  const plan = await signingPlan(ctx);
  refuseKeylessLegacy(ctx, plan);
  const tokens = tokenSourceFor(ctx, plan);
  const predicateType = attest ? resolvePredicateType(ctx.flags.string('type') ?? 'custom') : undefined;
  const predicatePath = attest ? ctx.flags.string('predicate') : undefined;
  if (attest && !predicatePath) throw new AirlockError('E_USAGE', 'attest needs --predicate FILE');
  const bundlePath = ctx.flags.string('bundle');
  const overwrite = ctx.flags.bool('force');
  // Refused now, not after the signature exists (and maybe sits in a transparency log).
  if (bundlePath && !overwrite && (await pathExists(bundlePath))) {
    throw new AirlockError('E_OUTPUT_EXISTS', `${bundlePath} already exists`, { hint: 'pass --force to overwrite it' });
  }
  const image = await openImage(ref, 'read', await registryOptions(ctx));
  return withStore(image.store, async () => {
    const subject = await resolveImage(image);
    const legacyRef = ctx.flags.bool('legacy-signature') ? dockerReferenceFor(ctx, image.ref) : undefined;
    if (ctx.flags.bool('legacy-signature') && !legacyRef) {
      throw new AirlockError(
        'E_USAGE',
        '--legacy-signature on a non-registry image needs --sign-container-identity REGISTRY/REPO',
      );
    }
    const predicate = predicatePath ? await readPredicate(predicatePath) : undefined;
    const opened = await openSigner(ctx, plan, tokens);
    const { signer } = opened;
    try {
      const base = {
        signer,
        ...(opened.certificate ? { certificate: opened.certificate } : {}),
        witnesses: plan.witnesses,
        now: ctx.now(),
        ...(legacyRef ? { legacy: { dockerReference: legacyRef } } : {}),
      };
      const result =
        attest && predicateType
          ? await attestImage(image.store, subject, {
              ...base,
              predicateType,
              predicate,
              ...(image.ref.transport === 'docker' ? { subjectName: dockerRepository(image.ref) } : {}),
            })
          : await signImage(image.store, subject, base);
      ctx.audit.subject(formatImageReference(image.ref), subject.digest);
      ctx.audit.detail('key', { fingerprint: keyFingerprint(signer.publicKey), source: signer.description });
      const certificate = certificateSummary(opened);
      if (certificate) ctx.audit.detail('certificate', certificate);
      ctx.audit.detail('referrer', result.referrer.digest);
      if (predicateType) ctx.audit.detail('predicateType', predicateType);
      if (bundlePath) {
        await writeFileAtomic(bundlePath, `${JSON.stringify(result.bundle)}\n`, { overwrite });
        ctx.audit.detail('bundleFile', bundlePath);
      }
      ctx.out.info(
        `${attest ? 'Attested' : 'Signed'} ${subject.digest} with ${signer.description}: bundle ` +
          `referrer ${result.referrer.digest}` +
          `${result.legacyTag ? `, legacy ${result.legacyTag}` : ''}` +
          `${bundlePath ? `, bundle written to ${bundlePath}` : ''}`,
      );
      return {
        json: {
          ok: true,
          digest: subject.digest,
          referrer: result.referrer,
          legacyTag: result.legacyTag,
          predicateType: predicateType ?? 'https://sigstore.dev/cosign/sign/v1',
          ...(certificate ? { certificate } : {}),
          ...(bundlePath ? { bundleFile: bundlePath } : {}),
        },
      };
    } finally {
      await signer.close();
    }
  });
}

export const signCommand: Command = {
  name: 'sign',
  audit: 'sign',
  summary: 'Sign an image as cosign v3 does (bundle referrer), optionally also the legacy .sig',
  usage: 'IMAGE (--key REF | --identity-token @FILE --fulcio-url URL) [flags]',
  flags: IMAGE_SIGN_FLAGS,
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock sign oci:layout:app-1.0 --key cosign.key --tlog-upload=false',
      description: 'Sign inside a layout, offline',
    },
    {
      command:
        'airlock sign 127.0.0.1:5000/app@sha256:… --key cosign.key --tlog-upload=false --legacy-signature --insecure',
      description: 'Registry, with the .sig podman reads',
    },
    {
      command: 'airlock sign oci:layout:app-1.0 --key cosign.key --tlog-upload=false --bundle app.sigstore.json',
      description: 'Also keep the bundle in a file (for verify --bundle)',
    },
    {
      command:
        'airlock sign registry.internal/app@sha256:… --identity-token @token --fulcio-url https://ca.internal ' +
        '--rekor-url https://log.internal --rekor-api-version 2 --tsa-url https://tsa.internal/tsr',
      description: 'Keyless: a certificate for the token identity from an on-prem CA',
    },
  ],
  run: (ctx) => runSign(ctx, false),
};

export const attestCommand: Command = {
  name: 'attest',
  audit: 'attest',
  summary: 'Attach a signed in-toto attestation (SBOM, provenance, scan) to an image',
  usage: 'IMAGE --predicate P --type T (--key REF | --identity-token @FILE) [flags]',
  description:
    'This is how airlock attaches an SBOM (cosign attach sbom): as an attestation signed with --key, or keyless.',
  flags: {
    predicate: { type: 'string', value: 'FILE', description: 'The predicate (JSON)' },
    type: { type: 'string', value: 'TYPE', description: 'Predicate type: URI or short name', default: 'custom' },
    ...IMAGE_SIGN_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command:
        'airlock attest oci:layout:app --predicate sbom.spdx.json --type spdxjson --key cosign.key --tlog-upload=false',
      description: 'An SBOM attestation',
    },
    {
      command:
        'airlock attest oci:layout:app --predicate sbom.spdx.json --type spdxjson --key ' +
        'cosign.key --tlog-upload=false --bundle sbom.sigstore.json',
      description: 'Also keep its bundle in a file',
    },
  ],
  run: (ctx) => runSign(ctx, true),
};
