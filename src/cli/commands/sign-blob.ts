import { loadSigner } from '../../crypto/key-ref.ts';
import { keyFingerprint } from '../../crypto/keys.ts';
import type { Signer } from '../../crypto/signer.ts';
import { AirlockError } from '../../errors.ts';
import { writeFileAtomic } from '../../files/atomic-write.ts';
import { readJsonFile } from '../../files/read-json.ts';
import { resolvePredicateType } from '../../sigstore/in-toto.ts';
import { MAX_PREDICATE_BYTES } from '../../sigstore/limits.ts';
import { attestBlob, type SignedBlob, signBlob } from '../../sigstore/sign-blob.ts';
import type { Command, CommandContext } from '../command.ts';
import { KEY_FLAGS, OUTPUT_FLAGS, SIGNING_FLAGS } from '../flag-groups.ts';
import { keyContext } from '../key-context.ts';
import { planSigning } from '../signing-plan.ts';

async function withSigner<T>(
  ctx: CommandContext,
  fn: (signer: Signer, plan: ReturnType<typeof planSigning>) => Promise<T>,
) {
  const plan = planSigning(ctx.flags); // all flag rules first: nothing is read or signed before they hold
  if (!ctx.flags.string('bundle') && !ctx.flags.string('output-signature')) {
    throw new AirlockError(
      'E_USAGE',
      'nowhere to write the result: pass --bundle FILE (and/or --output-signature FILE)',
    );
  }
  const signer = await loadSigner(
    plan.keyRef,
    keyContext(ctx, { passwordFile: plan.passwordFile }),
    plan.signingAlgorithm,
  );
  try {
    if (!plan.witnesses.tlog) ctx.out.debug('transparency log upload disabled: signing offline');
    return await fn(signer, plan);
  } finally {
    await signer.close();
  }
}

async function writeOutputs(ctx: CommandContext, signed: SignedBlob): Promise<Record<string, string>> {
  const overwrite = ctx.flags.bool('force');
  const written: Record<string, string> = {};
  const bundlePath = ctx.flags.string('bundle');
  if (bundlePath) {
    await writeFileAtomic(bundlePath, `${JSON.stringify(signed.bundle)}\n`, { overwrite });
    written.bundle = bundlePath;
    ctx.out.info(`Wrote bundle to ${bundlePath}`);
  }
  const sigPath = ctx.flags.string('output-signature');
  if (sigPath) {
    await writeFileAtomic(sigPath, Buffer.from(signed.signature).toString('base64'), { overwrite });
    written.signature = sigPath;
    ctx.out.info(`Wrote signature to ${sigPath}`);
  }
  return written;
}

/** The --json summary, and the same facts for the audit event. */
function summary(
  ctx: CommandContext,
  file: string,
  signer: Signer,
  signed: SignedBlob,
  written: Record<string, string>,
) {
  // Serialized bundles follow proto3 JSON, which leaves out zero values: entry 0 has no logIndex.
  const tlog = (signed.bundle.verificationMaterial.tlogEntries ?? []).map((e) => ({
    ...e,
    logIndex: e.logIndex ?? '0',
  }));
  ctx.audit.subject(file, `${signed.digest.algorithm}:${signed.digest.hex}`);
  ctx.audit.detail('key', { fingerprint: keyFingerprint(signer.publicKey), source: signer.description });
  ctx.audit.detail(
    'tlogEntries',
    tlog.map((e) => e.logIndex),
  );
  return {
    ok: true,
    digest: `${signed.digest.algorithm}:${signed.digest.hex}`,
    key: { fingerprint: keyFingerprint(signer.publicKey), algorithm: signer.algorithm, source: signer.description },
    tlogEntries: tlog.map((e) => ({ logIndex: e.logIndex, integratedTime: e.integratedTime })),
    timestamps: signed.bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps?.length ?? 0,
    outputs: written,
    bundle: signed.bundle,
  };
}

function progress(ctx: CommandContext) {
  return (bytes: number) => ctx.out.progress(`hashing ${(bytes / 2 ** 20).toFixed(0)} MiB`);
}

export const signBlobCommand: Command = {
  name: 'sign-blob',
  audit: 'sign',
  summary: 'Sign a file into a Sigstore bundle (cosign sign-blob)',
  usage: 'FILE --key REF --bundle OUT [flags]',
  description:
    'Writes a Sigstore bundle v0.3 with a messageSignature (digest + signature) and the key hint\n' +
    'base64(sha256(SPKI)). By default the signature is uploaded to the transparency log (--rekor-url,\n' +
    'default the public-good Rekor); --tlog-upload=false signs fully offline, with no network access.',
  flags: { ...KEY_FLAGS, ...SIGNING_FLAGS, ...OUTPUT_FLAGS },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock sign-blob app.tar --key cosign.key --tlog-upload=false --bundle app.tar.sigstore.json',
      description: 'Offline, with a key file',
    },
    {
      command:
        'airlock sign-blob app.tar --key ' +
        "'pkcs11:token=ci;object=release?pin-source=/run/secrets/pin' --rekor-url " +
        'https://rekor.internal --bundle app.sigstore.json',
      description: 'HSM key, on-prem log',
    },
    {
      command:
        'airlock sign-blob app.tar --key cosign.key --tlog-upload=false --tsa-url ' +
        'https://tsa.internal/tsr --bundle b.json',
      description: 'Offline log, RFC 3161 timestamp',
    },
  ],
  async run(ctx) {
    const file = ctx.positionals[0] ?? '';
    return withSigner(ctx, async (signer, plan) => {
      const signed = await signBlob({ path: file }, { signer, witnesses: plan.witnesses, onProgress: progress(ctx) });
      ctx.out.progressDone();
      const written = await writeOutputs(ctx, signed);
      ctx.out.info(
        `Signed ${file} (${signed.digest.algorithm}:${signed.digest.hex.slice(0, 16)}…) with ${signer.description}`,
      );
      return { json: summary(ctx, file, signer, signed, written) };
    });
  },
};

export const attestBlobCommand: Command = {
  name: 'attest-blob',
  audit: 'attest',
  summary: 'Attest a file: a DSSE in-toto statement in a Sigstore bundle (cosign attest-blob)',
  usage: 'FILE --predicate P --type T --key REF --bundle OUT [flags]',
  description:
    "The statement's subject is the file (name + sha256); --type is a URI or one of cosign's short\n" +
    'names: slsaprovenance1, spdxjson, cyclonedx, vuln, openvex, custom, ...',
  flags: {
    predicate: { type: 'string', value: 'FILE', description: 'The predicate (JSON)' },
    type: { type: 'string', value: 'TYPE', description: 'Predicate type: URI or short name', default: 'custom' },
    ...KEY_FLAGS,
    ...SIGNING_FLAGS,
    ...OUTPUT_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command:
        'airlock attest-blob app.tar --predicate sbom.spdx.json --type spdxjson --key cosign.key ' +
        '--tlog-upload=false --bundle app.sbom.sigstore.json',
      description: 'Attach an SBOM as an attestation',
    },
  ],
  async run(ctx) {
    const file = ctx.positionals[0] ?? '';
    const predicatePath = ctx.flags.string('predicate');
    if (!predicatePath) throw new AirlockError('E_USAGE', 'attest-blob needs --predicate FILE');
    const predicateType = resolvePredicateType(ctx.flags.string('type') ?? 'custom');
    return withSigner(ctx, async (signer, plan) => {
      // Bounded: its bundle must stay within what verification reads, and it may be a FIFO.
      const predicate = await readJsonFile(predicatePath, 'predicate', MAX_PREDICATE_BYTES);
      const signed = await attestBlob(
        { path: file },
        { signer, witnesses: plan.witnesses, predicate, predicateType, onProgress: progress(ctx) },
      );
      ctx.out.progressDone();
      const written = await writeOutputs(ctx, signed);
      ctx.out.info(`Attested ${file} (${predicateType}) with ${signer.description}`);
      ctx.audit.detail('predicateType', predicateType);
      return { json: { ...summary(ctx, file, signer, signed, written), predicateType } };
    });
  },
};
