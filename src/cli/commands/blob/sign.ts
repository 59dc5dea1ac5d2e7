import { keyFingerprint } from '../../../crypto/keys.ts';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { readJsonFile } from '../../../files/read-json.ts';
import { resolvePredicateType } from '../../../sigstore/in-toto.ts';
import { MAX_PREDICATE_BYTES } from '../../../sigstore/limits.ts';
import { attestBlob, type SignedBlob, signBlob } from '../../../sigstore/sign-blob.ts';
import type { Command, CommandContext } from '../../command.ts';
import { KEY_FLAGS } from '../../options/key.ts';
import { certificateSummary, type OpenedSigner, openSigner, tokenSourceFor } from '../../options/keyless.ts';
import { OUTPUT_FLAGS, type SignatureOutputs, signatureOutputs } from '../../options/output.ts';
import { SIGNING_FLAGS, type SigningPlan, signingPlan } from '../../options/signing.ts';

async function withSigner<T>(
  ctx: CommandContext,
  fn: (opened: OpenedSigner, plan: SigningPlan, outputs: SignatureOutputs) => Promise<T>,
) {
  // All flag rules first (a keyless token's source included): nothing is read or signed before they hold.
  const plan = await signingPlan(ctx);
  const tokens = tokenSourceFor(ctx, plan);
  const outputs = signatureOutputs(ctx.flags);
  const opened = await openSigner(ctx, plan, tokens);
  try {
    if (!plan.witnesses.tlog) ctx.out.debug('transparency log upload disabled: signing offline');
    return await fn(opened, plan, outputs);
  } finally {
    await opened.signer.close();
  }
}

async function writeOutputs(
  ctx: CommandContext,
  outputs: SignatureOutputs,
  signed: SignedBlob,
): Promise<Record<string, string>> {
  const { overwrite } = outputs;
  const written: Record<string, string> = {};
  if (outputs.bundle) {
    await writeFileAtomic(outputs.bundle, `${JSON.stringify(signed.bundle)}\n`, { overwrite });
    written.bundle = outputs.bundle;
    ctx.out.info(`Wrote bundle to ${outputs.bundle}`);
  }
  if (outputs.signature) {
    await writeFileAtomic(outputs.signature, Buffer.from(signed.signature).toString('base64'), { overwrite });
    written.signature = outputs.signature;
    ctx.out.info(`Wrote signature to ${outputs.signature}`);
  }
  return written;
}

/** The --json summary, and the same facts for the audit event. */
function summary(
  ctx: CommandContext,
  file: string,
  opened: OpenedSigner,
  signed: SignedBlob,
  written: Record<string, string>,
) {
  const { signer } = opened;
  const certificate = certificateSummary(opened);
  // Serialized bundles follow proto3 JSON, which leaves out zero values: entry 0 has no logIndex.
  const tlog = (signed.bundle.verificationMaterial.tlogEntries ?? []).map((e) => ({
    ...e,
    logIndex: e.logIndex ?? '0',
  }));
  ctx.audit.subject(file, `${signed.digest.algorithm}:${signed.digest.hex}`);
  ctx.audit.detail('key', { fingerprint: keyFingerprint(signer.publicKey), source: signer.description });
  if (certificate) ctx.audit.detail('certificate', certificate);
  ctx.audit.detail(
    'tlogEntries',
    tlog.map((e) => e.logIndex),
  );
  return {
    ok: true,
    digest: `${signed.digest.algorithm}:${signed.digest.hex}`,
    key: { fingerprint: keyFingerprint(signer.publicKey), algorithm: signer.algorithm, source: signer.description },
    ...(certificate ? { certificate } : {}),
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
  usage: 'FILE (--key REF | --identity-token @FILE --fulcio-url URL) --bundle OUT [flags]',
  description:
    'Writes a Sigstore bundle v0.3 with a messageSignature (digest + signature) and the key hint\n' +
    'base64(sha256(SPKI)). By default the signature is uploaded to the transparency log (--rekor-url,\n' +
    'default the public-good Rekor); --tlog-upload=false signs fully offline, with no network access.\n' +
    'Without --key it signs keyless: a Fulcio-compatible CA (--fulcio-url, e.g. airlock ca serve) certifies\n' +
    'an in-memory key for the OIDC identity token (--identity-token @FILE, SIGSTORE_ID_TOKEN or GitHub\n' +
    'Actions), and the bundle carries that certificate; a Rekor v2 log then needs --tsa-url.',
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
    {
      command:
        'airlock sign-blob app.tar --identity-token @/var/run/sigstore/token --fulcio-url https://ca.internal ' +
        '--rekor-url https://log.internal --rekor-api-version 2 --tsa-url https://tsa.internal/tsr --bundle b.json',
      description: 'Keyless, inside the gap: on-prem CA, Rekor v2 log and TSA',
    },
  ],
  async run(ctx) {
    const file = ctx.positionals[0] ?? '';
    return withSigner(ctx, async (opened, plan, outputs) => {
      const signed = await signBlob(
        { path: file },
        { ...opened, witnesses: plan.witnesses, onProgress: progress(ctx) },
      );
      ctx.out.progressDone();
      const written = await writeOutputs(ctx, outputs, signed);
      ctx.out.info(
        `Signed ${file} (${signed.digest.algorithm}:${signed.digest.hex.slice(0, 16)}…) ` +
          `with ${opened.signer.description}`,
      );
      return { json: summary(ctx, file, opened, signed, written) };
    });
  },
};

export const attestBlobCommand: Command = {
  name: 'attest-blob',
  audit: 'attest',
  summary: 'Attest a file: a DSSE in-toto statement in a Sigstore bundle (cosign attest-blob)',
  usage: 'FILE --predicate P --type T (--key REF | --identity-token @FILE) --bundle OUT [flags]',
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
    return withSigner(ctx, async (opened, plan, outputs) => {
      // Bounded: its bundle must stay within what verification reads, and it may be a FIFO.
      const predicate = await readJsonFile(predicatePath, 'predicate', MAX_PREDICATE_BYTES);
      const signed = await attestBlob(
        { path: file },
        { ...opened, witnesses: plan.witnesses, predicate, predicateType, onProgress: progress(ctx) },
      );
      ctx.out.progressDone();
      const written = await writeOutputs(ctx, outputs, signed);
      ctx.out.info(`Attested ${file} (${predicateType}) with ${opened.signer.description}`);
      ctx.audit.detail('predicateType', predicateType);
      return { json: { ...summary(ctx, file, opened, signed, written), predicateType } };
    });
  },
};
