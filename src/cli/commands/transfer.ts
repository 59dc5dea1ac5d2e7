import { randomUUID } from 'node:crypto';
import { AirlockError } from '../../errors.ts';
import type { NoteVerifier } from '../../log/note.ts';
import { bounded } from '../../text.ts';
import type { DocumentSubject } from '../../transfer/format.ts';
import type { ImportReport } from '../../transfer/import.ts';
import type { PackResult } from '../../transfer/pack.ts';
import type { ProgressSink, TransferProgress } from '../../transfer/progress.ts';
import type { Severity } from '../../transfer/scan.ts';
import type { Command, CommandContext } from '../command.ts';
import { httpUrl } from '../http-url.ts';
import { CHANNEL_FLAGS, channelOptions } from '../options/channels.ts';
import { IMPORT_TRUST_FLAGS, importTrustOption } from '../options/import-trust.ts';
import { KEY_FLAGS, keySigner } from '../options/key.ts';
import { PACK_CONTENT_FLAGS, packContents } from '../options/pack-contents.ts';
import { PACK_TRUST_FLAGS, packTrustOption } from '../options/pack-trust.ts';
import { PACKAGE_OUTPUT_FLAGS, packageOutput } from '../options/package-output.ts';
import { PGP_FLAGS, pgpSigningKey } from '../options/pgp-signing.ts';
import { REGISTRY_FLAGS, registryOptions } from '../options/registry.ts';
import { registryTarget } from '../options/registry-target.ts';
import { SIGNER_FLAGS, signersOption } from '../options/signers.ts';
import { throttled, transferProgressLine } from '../progress.ts';
import { vkeyText } from '../vkey-text.ts';

/** Progress with totals on a terminal only (counting costs a little; a script reads the result). */
function progressOption(ctx: CommandContext): { onProgress?: ProgressSink } {
  if (!ctx.out.showsProgress) return {};
  const render = throttled((p: TransferProgress) => ctx.out.progress(transferProgressLine(p)));
  return { onProgress: render };
}

/** skopeo, found on PATH, when some image is in podman's store (containers-storage:). */
async function skopeoOption(ctx: CommandContext, images: readonly string[]): Promise<{ skopeo?: string }> {
  if (!images.some((i) => i.startsWith('containers-storage:'))) return {};
  const { findExecutable } = await import('../../tools/external.ts');
  const skopeo = await findExecutable('skopeo', ctx.env.PATH);
  return skopeo ? { skopeo } : {};
}

/** --fail-on SEVERITY: findings at or above it (and of unknown severity) refuse the pack. */
async function failOnOption(ctx: CommandContext): Promise<Severity | undefined> {
  const text = ctx.flags.string('fail-on');
  if (!text) return undefined;
  const { parseSeverity } = await import('../../transfer/scan.ts');
  return parseSeverity(text);
}

async function runPack(ctx: CommandContext) {
  const { out, format, overwrite } = packageOutput(ctx, 'pack needs -o OUT');
  const failOn = await failOnOption(ctx);
  const keyRef = ctx.flags.string('key');
  if (ctx.flags.bool('sign') && !keyRef) throw new AirlockError('E_USAGE', '--sign needs --key');
  const contents = await packContents(ctx);
  if (!keyRef && !ctx.flags.has('pgp-key'))
    throw new AirlockError('E_USAGE', 'the manifest must be signed: pass --key and/or --pgp-key');
  const pgpKey = await pgpSigningKey(ctx);
  const signer = keyRef ? await keySigner(ctx, keyRef) : undefined;
  try {
    const imageTrust = contents.images.length > 0 ? await packTrustOption(ctx, signer?.publicKey) : undefined;
    const { packTransfer } = await import('../../transfer/pack.ts');
    const result = await packTransfer({
      ...contents,
      out,
      format,
      overwrite,
      channel: ctx.flags.string('channel') ?? 'default',
      stateDir: ctx.stateDir,
      now: ctx.now(),
      ...(signer ? { signer } : {}),
      signArtifacts: ctx.flags.bool('sign'),
      legacySignature: ctx.flags.bool('legacy-signature'),
      ...(pgpKey ? { pgpKey } : {}),
      ...(failOn ? { failOn } : {}),
      ...(imageTrust ? { imageTrust } : {}),
      allowUnsigned: ctx.flags.bool('allow-unsigned'),
      ...(await skopeoOption(ctx, contents.images)),
      registry: await registryOptions(ctx),
      ...progressOption(ctx),
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
    'IMAGE|FILE... -o OUT (--key REF | --pgp-key FILE) (--image-key REF | --certificate-identity ' +
    'I --certificate-oidc-issuer U | --policy FILE | --sign | --allow-unsigned) [flags]',
  description:
    'Images (any transport) travel as an OCI layout with their signatures, attestations and referrers;\n' +
    "files with their bundles. Each image's signatures are checked here with the trust the far side will\n" +
    "use (import's flags; its --key is --image-key here, since --key signs): a coverage gap is refused now,\n" +
    'where it can still be fixed. --sbom/--scan documents travel as files of the package (and, with --key,\n' +
    'as signed attestations); each must be about the image it is packed with. --fail-on refuses findings at\n' +
    'or above a severity, and of unknown severity, and needs a --scan for every image. The manifest\n' +
    '(manifest.sha256) covers every file and is signed with --key (Sigstore bundle) and/or --pgp-key.\n' +
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
    sign: { type: 'boolean', description: 'Also sign each image and file (and the attestations) with --key' },
    'legacy-signature': {
      type: 'boolean',
      description: 'With --sign, also write cosign .sig tags for registry images',
    },
    ...PGP_FLAGS,
    sbom: PACK_CONTENT_FLAGS.sbom,
    scan: PACK_CONTENT_FLAGS.scan,
    'fail-on': {
      type: 'string',
      value: 'SEVERITY',
      description: 'Refuse findings at/above critical|high|medium|low, or of unknown severity',
    },
    ...PACK_TRUST_FLAGS,
    force: PACKAGE_OUTPUT_FLAGS.force,
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  examples: [
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

/** The checks inspect and import share: signers, channels, image trust. */
async function checkOptions(ctx: CommandContext) {
  const channels = await channelOptions(ctx);
  return {
    signers: await signersOption(ctx),
    imageTrust: await importTrustOption(ctx),
    ...channels,
    importId: randomUUID(),
  };
}

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
  if (ctx.flags.has('policy') || !ctx.flags.has('key'))
    throw new AirlockError(
      'E_UNSUPPORTED',
      'import --rekor-url logs signatures verified with --key; with --policy or keyless trust it is not built yet',
    );
  const { parseVerifierKey } = await import('../../log/note-keys.ts');
  return {
    rekor: {
      url: httpUrl(url, '--rekor-url', { prefix: true }),
      logVerifier: parseVerifierKey(await vkeyText(ctx, vkey)).verifier,
    },
  };
}

const IMPORT_FLAGS = {
  ...SIGNER_FLAGS,
  ...CHANNEL_FLAGS,
  'allow-gap': {
    type: 'boolean',
    description: 'Accept a package that skips sequence numbers, or starts a channel mid-way (recorded)',
  },
  ...IMPORT_TRUST_FLAGS,
} as const;

function printReport(ctx: CommandContext, report: ImportReport, what: string): void {
  const m = report.metadata;
  if (m)
    ctx.out.info(
      `Package ${m.packageId}: channel ${m.sequence.channel} #${m.sequence.number}, created ` +
        `${m.createdAt} by ${bounded(m.tool, 80)}`,
    );
  for (const id of report.recovered)
    ctx.out.info(`  recovered  import ${id}, which had stopped half-way, finished first`);
  for (const p of report.pendingElsewhere)
    ctx.out.warn(`an earlier import stopped half-way: ${p}; \`airlock import --recover --registry HOST\` finishes it`);
  for (const s of report.signers) ctx.out.info(`  signed by  ${s.signer}: ${s.kind} ${s.id} ${s.detail}`);
  for (const p of report.signatureProblems) ctx.out.info(`  ${ctx.out.paint('yellow', 'untrusted')}  ${p}`);
  if (report.channel)
    ctx.out.info(
      `  channel    ${report.channel.name}: ${report.channel.accepted}` +
        `${report.channel.maxAge ? `, packages up to ${report.channel.maxAge} old` : ''}` +
        `${report.channel.repositories ? `; repositories ${report.channel.repositories}` : ''}`,
    );
  if (report.sequence) ctx.out.info(`  sequence   ${report.sequence.detail}`);
  if (report.connectedAudit)
    ctx.out.info(`  audit      ${bounded(report.connectedAudit.origin, 120)}: ${report.connectedAudit.verdict.detail}`);
  if (report.files) ctx.out.info(`  files      ${report.files} verified (${(report.bytes / 2 ** 20).toFixed(1)} MiB)`);
  for (const i of report.images) {
    ctx.out.info(
      `  image      ${bounded(i.name, 200)} ${i.digest}: ` +
        `${i.verification.results.filter((r) => r.ok).length} signature(s) ` +
        `verified${i.pushedTo ? ` → ${i.pushedTo}` : i.landsAt ? ` (lands as ${i.landsAt})` : ''}`,
    );
    for (const l of i.logged ?? [])
      ctx.out.info(
        `  logged     ${l.referrer.slice(0, 19)}… as entry ${l.logIndex}; bundle with the entry ` +
          `attached as ${l.augmented.slice(0, 19)}…`,
      );
  }
  for (const t of report.tags ?? []) ctx.out.debug(`  tag        ${t.reference}: ${t.from ?? '(new)'} → ${t.to}`);
  for (const f of report.fileArtifacts) {
    const sig =
      f.signature === 'verified'
        ? `signature verified (${f.signer})`
        : f.signature === 'unsigned'
          ? 'unsigned'
          : ctx.out.paint('yellow', `signature unverified: ${bounded(f.reason ?? '', 200)}`);
    ctx.out.info(`  file       ${bounded(f.path, 200)} sha256:${f.sha256.slice(0, 12)}…: ${sig}`);
  }
  for (const d of report.documents) {
    const about = (s: DocumentSubject | undefined) =>
      s === undefined ? '' : 'matched' in s ? `, about ${s.matched.slice(0, 19)}…` : ', names no image';
    if (d.sbom)
      ctx.out.info(
        `  sbom       ${bounded(d.name, 200)}: ${d.sbom.format}, ${d.sbom.packages} packages ` +
          `(${d.sbom.from === 'document' ? 'from the document' : 'as packed'}` +
          `${about(d.sbom.subject)})`,
      );
    if (d.scan)
      ctx.out.info(
        `  scan       ${bounded(d.name, 200)}: ${d.scan.result} ${JSON.stringify(d.scan.counts)} ` +
          `(gate ${d.scan.gate ?? 'none'}, ` +
          `${d.scan.from === 'document' ? `from ${d.scan.subjects?.length ?? 0} document(s)` : 'as packed'}` +
          `${(d.scan.subjects ?? []).map(about).join('')})`,
      );
  }
  if (report.ok) ctx.out.info(ctx.out.paint('green', `${what} OK`));
  else ctx.out.error(`${what} refused: ${bounded(report.error?.message ?? '', 8192, true)} [${report.error?.code}]`);
}

function reportJson(report: ImportReport) {
  return {
    ...report,
    error: report.error?.toJSON(),
    images: report.images.map((i) => ({
      ...i,
      verification: { ...i.verification, results: i.verification.results.map((r) => ({ ...r, report: undefined })) },
    })),
  };
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Verify a transfer package without importing it, and report on it',
  usage:
    'PACKAGE (--signers FILE | --keyring FILE | --signer-key REF) (--key REF | ' +
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
    const { importTransfer } = await import('../../transfer/import.ts');
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
      const { markdownReport } = await import('../../transfer/report.ts');
      const { writeFileAtomic } = await import('../../files/atomic-write.ts');
      await writeFileAtomic(md, markdownReport(ctx.positionals[0] ?? '', report, ctx.now()), { overwrite: true });
    }
    return { json: reportJson(report), exitCode: report.ok ? 0 : (report.error?.exitCode ?? 1) };
  },
};

/**
 * The intents this machine's audit trail holds for an import: what a journal left half-way is checked
 * against before anything is done with it. The trail is verified whole first.
 */
function auditIntents(ctx: CommandContext) {
  return async (importId: string): Promise<Array<Readonly<Record<string, unknown>>>> => {
    const { verifyAuditLog } = await import('../../audit/audit-log.ts');
    const v = await verifyAuditLog(ctx.stateDir);
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
  const { recoverImports } = await import('../../transfer/import.ts');
  await ctx.audit.ready();
  const done = await recoverImports({
    stateDir: ctx.stateDir,
    registry: { ...registry, options: await registryOptions(ctx) },
    record: ctx.audit.record,
    intents: auditIntents(ctx),
    ...progressOption(ctx),
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
    '--keyring FILE | --signer-key REF) [--require-signers K] [image trust flags] | --recover ' +
    '--registry HOST',
  description:
    "One streaming pass: the manifest's signers (at least K distinct people or teams), the channel (accepted\n" +
    "here, the package younger than --max-age) and the package's place on it are checked before any payload\n" +
    'byte is accepted; then every file must be listed and match its hash, the SBOM and scan documents are\n' +
    'recomputed, every image must verify with the image trust flags. Only then: images pushed by digest, then\n' +
    'the tags. What is guaranteed: a refused or failed import before the tags moves nothing (no tag, channel\n' +
    'state unchanged, the package untouched). A registry cannot move several tags at once, so before the\n' +
    'first tag moves the import records its intent (each tag from → to) in the audit trail and a journal; a\n' +
    'crash or registry error while tags move leaves it incomplete (E_IMPORT_INCOMPLETE, shown by import and\n' +
    '`audit verify`) until the next import on the channel or `import --recover` finishes it. Re-running the\n' +
    'same package is idempotent. --rekor-url appends each verified image signature to the on-prem log\n' +
    '(recorded first, before anything is pushed) and attaches the bundle with its entry as one more referrer.',
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
    const { importTransfer } = await import('../../transfer/import.ts');
    await ctx.audit.ready();
    const report = await importTransfer({
      source: ctx.positionals[0] ?? '',
      ...options,
      allowGap: ctx.flags.bool('allow-gap'),
      stateDir: ctx.stateDir,
      now: ctx.now(),
      registry: { ...registry, options: await registryOptions(ctx) },
      ...progressOption(ctx),
      record: ctx.audit.record,
      intents: auditIntents(ctx),
    });
    ctx.out.progressDone();
    printReport(ctx, report, 'Import');
    return { json: reportJson(report), exitCode: report.ok ? 0 : (report.error?.exitCode ?? 1) };
  },
};

export const approveCommand: Command = {
  name: 'approve',
  audit: 'transfer.approve',
  summary: "Add a further signature over a package's manifest (e.g. the security team's), nothing else changed",
  usage: 'PACKAGE -o OUT (--signers FILE | --keyring FILE | --signer-key REF) (--pgp-key FILE | --key REF)',
  description:
    'Re-reads the package, verifies the signatures already on its manifest against the signers given (at\n' +
    'least --require-signers of them: an approver co-signs only what they can verify), checks every file\n' +
    'against the manifest, and writes a new package with one more signature: an OpenPGP signature joins\n' +
    'manifest.sha256.asc, an airlock-key signature becomes manifest.sha256.N.sigstore.json. The input is\n' +
    'never modified. `import --require-signers K` counts distinct signers.',
  flags: {
    output: { ...PACKAGE_OUTPUT_FLAGS.output, description: 'The approved package to write' },
    format: { ...PACKAGE_OUTPUT_FLAGS.format, description: 'Container of OUT' },
    force: PACKAGE_OUTPUT_FLAGS.force,
    ...SIGNER_FLAGS,
    ...KEY_FLAGS,
    ...PGP_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command: 'airlock approve app-1.0.tar -o app-1.0.approved.tar --signers signers.json --pgp-key security-team.asc',
      description: "The security team checks the release team's signature, then co-signs",
    },
  ],
  async run(ctx) {
    const { out, format, overwrite } = packageOutput(ctx, 'approve needs -o OUT (the input is never modified)');
    if (!ctx.flags.has('key') && !ctx.flags.has('pgp-key'))
      throw new AirlockError('E_USAGE', 'approve needs --key and/or --pgp-key');
    const signers = await signersOption(ctx);
    ctx.audit.subject(ctx.positionals[0] ?? ''); // named in the record whatever the verdict
    const pgpKey = await pgpSigningKey(ctx);
    const keyRef = ctx.flags.string('key');
    const signer = keyRef ? await keySigner(ctx, keyRef) : undefined;
    try {
      const { approvePackage } = await import('../../transfer/approve.ts');
      const result = await approvePackage({
        source: ctx.positionals[0] ?? '',
        out,
        format,
        overwrite,
        ...(signer ? { signer } : {}),
        ...(pgpKey ? { pgpKey } : {}),
        signers,
        stateDir: ctx.stateDir,
        now: ctx.now(),
      });
      ctx.audit.subject(out, result.manifest);
      for (const a of result.metadata.artifacts)
        ctx.audit.subject(a.kind === 'image' ? a.name : a.path, a.kind === 'image' ? a.digest : `sha256:${a.sha256}`);
      ctx.audit.detail('sequence', result.metadata.sequence);
      ctx.audit.detail(
        'verified',
        result.verified.map((s) => `${s.signer}: ${s.kind} ${s.id}`),
      );
      ctx.audit.detail('added', result.added);
      for (const s of result.verified) ctx.out.info(`  signed by  ${s.signer}: ${s.kind} ${s.id} ${s.detail}`);
      for (const p of result.problems) ctx.out.info(`  ${ctx.out.paint('yellow', 'untrusted')}  ${p}`);
      ctx.out.info(`Approved: wrote ${out} with ${result.added.join(', ')}`);
      return { json: { ok: true, out, added: result.added, verified: result.verified, problems: result.problems } };
    } finally {
      await signer?.close();
    }
  },
};
