import type { KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { loadPublicKey, loadSigner } from '../../crypto/key-ref.ts';
import type { Signer } from '../../crypto/signer.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import type { ImportReport } from '../../transfer/import.ts';
import type { NoteVerifier } from '../../log/note.ts';
import type { Command, CommandContext } from '../command.ts';
import { vkeyText } from '../vkey-text.ts';
import { KEY_FLAGS } from '../flag-groups.ts';
import { REGISTRY_FLAGS, registryOptions } from '../image-flags.ts';
import { keyContext } from '../key-context.ts';
import { verificationBase, verificationOptions } from '../verify-options.ts';
import { httpUrl } from '../http-url.ts';
import { TRUST_FLAGS } from '../verify-plan.ts';

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw fromFsError(err, path);
  }
}

function pairs(values: readonly string[], flag: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const v of values) {
    const eq = v.lastIndexOf('=');
    if (eq <= 0) throw new AirlockError('E_USAGE', `--${flag} takes IMAGE=FILE, got '${v}'`);
    map.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return map;
}

async function pgpSigningKey(ctx: CommandContext) {
  const path = ctx.flags.string('pgp-key');
  if (!path) return undefined;
  const { loadPrivateKey } = await import('../../transfer/openpgp.ts');
  const passFile = ctx.flags.string('pgp-passphrase-file');
  const passphrase = passFile ? (await readBytes(passFile)).toString('utf8').split(/\r?\n/)[0] : ctx.env.AIRLOCK_PGP_PASSPHRASE;
  return { key: await loadPrivateKey((await readBytes(path)).toString('utf8'), passphrase) };
}

const PGP_FLAGS = {
  'pgp-key': { type: 'string', value: 'FILE', description: 'OpenPGP secret key (e.g. gpg --export-secret-keys --armor) to sign the manifest' },
  'pgp-passphrase-file': { type: 'string', value: 'FILE', description: 'Passphrase of --pgp-key (or AIRLOCK_PGP_PASSPHRASE)' },
} as const;

export const packCommand: Command = {
  name: 'pack',
  audit: 'transfer.pack',
  summary: 'Pack images and files into a signed, sequenced transfer package (connected side)',
  usage: 'IMAGE|FILE... -o OUT (--key REF | --pgp-key FILE) [flags]',
  description:
    'Images (any transport) travel as an OCI layout with their signatures, attestations and referrers;\n' +
    'files with their bundles. --sbom/--scan attach SBOMs and grype reports as signed attestations, and\n' +
    '--fail-on refuses to pack when a scan has findings at or above that severity. The manifest\n' +
    '(manifest.sha256) covers every file and is signed with --key (Sigstore bundle) and/or --pgp-key.\n' +
    'The channel sequence number advances only when the package is written.',
  flags: {
    output: { type: 'string', short: 'o', value: 'OUT', description: 'Package to write (a .tar, or a folder with --format dir)' },
    format: { type: 'string', value: 'tar|dir', description: 'Package container', default: 'tar' },
    channel: { type: 'string', value: 'NAME', description: 'Transfer channel (sequence numbers are per channel)', default: 'default' },
    ...KEY_FLAGS,
    sign: { type: 'boolean', description: 'Also sign each image and file (and the attestations) with --key' },
    'legacy-signature': { type: 'boolean', description: 'With --sign, also write cosign .sig tags for registry images' },
    ...PGP_FLAGS,
    sbom: { type: 'string', multiple: true, value: 'IMAGE=FILE', description: 'Attach an SPDX/CycloneDX JSON SBOM to IMAGE' },
    scan: { type: 'string', multiple: true, value: 'IMAGE=FILE', description: 'Attach a grype JSON report to IMAGE (and gate on it)' },
    'fail-on': { type: 'string', value: 'SEVERITY', description: 'Refuse to pack scans with findings at/above critical|high|medium|low' },
    force: { type: 'boolean', description: 'Overwrite OUT' },
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  examples: [
    {
      command: 'airlock pack registry.corp/app:1.0 -o app-1.0.tar --key cosign.key --pgp-key release.asc --sbom registry.corp/app:1.0=sbom.spdx.json --scan registry.corp/app:1.0=grype.json --fail-on critical --channel prod',
      description: 'The seed workflow in one command',
    },
  ],
  async run(ctx) {
    const out = ctx.flags.string('output');
    if (!out) throw new AirlockError('E_USAGE', 'pack needs -o OUT');
    const format = ctx.flags.string('format') ?? 'tar';
    if (format !== 'tar' && format !== 'dir') throw new AirlockError('E_USAGE', '--format takes tar or dir');
    const { parseSeverity } = await import('../../transfer/scan.ts');
    const failOnText = ctx.flags.string('fail-on');
    const failOn = failOnText ? parseSeverity(failOnText) : undefined;
    const images: string[] = [];
    const files: string[] = [];
    for (const arg of ctx.positionals) ((await isFile(arg)) && !/^(oci|oci-archive|docker-archive|docker):/.test(arg) ? files : images).push(arg);
    const keyRef = ctx.flags.string('key');
    if (ctx.flags.bool('sign') && !keyRef) throw new AirlockError('E_USAGE', '--sign needs --key');
    const pgpKey = await pgpSigningKey(ctx);
    let signer: Signer | undefined;
    if (keyRef) signer = await loadSigner(keyRef, keyContext(ctx, { passwordFile: ctx.flags.string('password-file') }));
    try {
      const { packTransfer } = await import('../../transfer/pack.ts');
      const result = await packTransfer({
        images,
        files,
        sboms: pairs(ctx.flags.strings('sbom'), 'sbom'),
        scans: pairs(ctx.flags.strings('scan'), 'scan'),
        out,
        format,
        overwrite: ctx.flags.bool('force'),
        channel: ctx.flags.string('channel') ?? 'default',
        stateDir: ctx.stateDir,
        now: ctx.now(),
        ...(signer ? { signer } : {}),
        signArtifacts: ctx.flags.bool('sign'),
        legacySignature: ctx.flags.bool('legacy-signature'),
        ...(pgpKey ? { pgpKey } : {}),
        ...(failOn ? { failOn } : {}),
        registry: await registryOptions(ctx),
        onProgress: (t) => ctx.out.progress(t),
        audit: await ctx.audit.log(),
      });
      ctx.out.progressDone();
      const seq = result.metadata.sequence;
      ctx.audit.subject(out, result.manifestDigest);
      for (const a of result.metadata.artifacts) ctx.audit.subject(a.kind === 'image' ? a.name : a.path, a.kind === 'image' ? a.digest : `sha256:${a.sha256}`);
      ctx.audit.detail('sequence', seq);
      ctx.audit.detail('artifacts', result.metadata.artifacts.map((a) => (a.kind === 'image' ? { image: a.name, signedBy: a.signedBy, ...(a.vulnerabilityScan ? { scan: a.vulnerabilityScan } : {}) } : { file: a.path, signedBy: a.signedBy })));
      ctx.out.info(`Packed ${result.metadata.artifacts.length} artifact(s) into ${out}: ${result.files} files, manifest ${result.manifestDigest}`);
      ctx.out.info(`  channel ${seq.channel} #${seq.number}${seq.previous ? ` (after ${seq.previous.slice(0, 19)}…)` : ' (first)'}`);
      return { json: { ok: true, out, manifest: result.manifestDigest, metadata: result.metadata } };
    } finally {
      await signer?.close();
    }
  },
};

async function importOptions(ctx: CommandContext) {
  const keyringPath = ctx.flags.string('keyring');
  const { loadKeyring } = await import('../../transfer/openpgp.ts');
  const pgp = keyringPath ? await loadKeyring(await readBytes(keyringPath)) : undefined;
  const kc = keyContext(ctx);
  const keys = await Promise.all(ctx.flags.strings('signer-key').map((ref) => loadPublicKey(ref, kc)));
  const required = ctx.flags.int('require-signers', 1, 1, 16);
  const policyPath = ctx.flags.string('policy');
  const imageTrust = policyPath ? await loadPolicy(ctx, policyPath) : await verificationOptions(ctx);
  return { signers: { ...(pgp ? { pgp } : {}), keys, required }, imageTrust };
}

/** Reads the policy and the key files it names (relative to the policy file). */
async function loadPolicy(ctx: CommandContext, path: string) {
  const { parseImagePolicy } = await import('../../policy/image-policy.ts');
  const { readJsonFile } = await import('../../files/read-json.ts');
  const { dirname, resolve } = await import('node:path');
  const policy = parseImagePolicy(await readJsonFile(path, 'policy'), path);
  const kc = keyContext(ctx);
  const keys = new Map<string, KeyObject>();
  for (const entry of policy.entries) {
    for (const a of entry.authorities) if ('key' in a && !keys.has(a.key)) keys.set(a.key, await loadPublicKey(resolve(dirname(path), a.key), kc));
  }
  const keysOnly = policy.entries.every((e) => e.authorities.every((a) => 'key' in a));
  return { policy, keys, base: await verificationBase(ctx, keysOnly) };
}

/** --rekor-url with the log's pinned key: an entry the log returns is attached only once proven in it. */
async function rekorTarget(ctx: CommandContext): Promise<{ rekor?: { url: string; logVerifier: NoteVerifier } }> {
  const url = ctx.flags.string('rekor-url');
  const vkey = ctx.flags.string('rekor-vkey');
  if (url === undefined) {
    if (vkey !== undefined) throw new AirlockError('E_USAGE', '--rekor-vkey belongs to --rekor-url');
    return {};
  }
  if (vkey === undefined) throw new AirlockError('E_USAGE', "--rekor-url needs --rekor-vkey VKEY|FILE, the log's key: entries it returns are checked before they are attached", { hint: '`airlock log serve` writes it to DATA/log.vkey' });
  const { parseVerifierKey } = await import('../../log/note-keys.ts');
  return { rekor: { url: httpUrl(url, '--rekor-url', { prefix: true }), logVerifier: parseVerifierKey(await vkeyText(ctx, vkey)).verifier } };
}

const IMPORT_FLAGS = {
  keyring: { type: 'string', value: 'FILE', description: 'OpenPGP public keys whose signatures over the manifest count (gpg --export --armor)' },
  'signer-key': { type: 'string', multiple: true, value: 'REF', description: 'airlock/cosign public key whose manifest bundle counts as a signer' },
  'require-signers': { type: 'string', value: 'K', description: 'Distinct trusted signers the manifest needs', default: '1' },
  'allow-gap': { type: 'boolean', description: 'Accept a package that skips sequence numbers (recorded)' },
  policy: { type: 'string', value: 'FILE', description: 'Image policy (airlock/v1 ImagePolicy): keys/identities and attestations per image name' },
  ...TRUST_FLAGS,
} as const;

function printReport(ctx: CommandContext, report: ImportReport, what: string): void {
  const m = report.metadata;
  if (m) ctx.out.info(`Package ${m.packageId}: channel ${m.sequence.channel} #${m.sequence.number}, created ${m.createdAt} by ${m.tool}`);
  for (const s of report.signers) ctx.out.info(`  signed by  ${s.kind} ${s.id} ${s.detail}`);
  for (const p of report.signatureProblems) ctx.out.info(`  ${ctx.out.paint('yellow', 'untrusted')}  ${p}`);
  if (report.sequence) ctx.out.info(`  sequence   ${report.sequence.detail}`);
  if (report.connectedAudit) ctx.out.info(`  audit      ${report.connectedAudit.origin}: ${report.connectedAudit.verdict.detail}`);
  if (report.files) ctx.out.info(`  files      ${report.files} verified (${(report.bytes / 2 ** 20).toFixed(1)} MiB)`);
  for (const i of report.images) {
    ctx.out.info(`  image      ${i.name} ${i.digest}: ${i.verification.results.filter((r) => r.ok).length} signature(s) verified${i.pushedTo ? ` → ${i.pushedTo}` : ''}`);
    for (const l of i.logged ?? []) ctx.out.info(`  logged     ${l.referrer.slice(0, 19)}… as entry ${l.logIndex}; bundle with the entry attached as ${l.augmented.slice(0, 19)}…`);
  }
  for (const f of report.fileArtifacts) {
    const sig = f.signature === 'verified' ? `signature verified (${f.signer})` : f.signature === 'unsigned' ? 'unsigned' : ctx.out.paint('yellow', `signature unverified: ${f.reason}`);
    ctx.out.info(`  file       ${f.path} sha256:${f.sha256.slice(0, 12)}…: ${sig}`);
  }
  for (const a of m?.artifacts ?? []) {
    if (a.kind === 'image' && a.sbom) ctx.out.info(`  sbom       ${a.name}: ${a.sbom.format}, ${a.sbom.packages} packages (as packed)`);
    if (a.kind === 'image' && a.vulnerabilityScan) ctx.out.info(`  scan       ${a.name}: ${a.vulnerabilityScan.result} ${JSON.stringify(a.vulnerabilityScan.counts)} (gate ${a.vulnerabilityScan.gate ?? 'none'}, as packed)`);
  }
  if (report.ok) ctx.out.info(ctx.out.paint('green', `${what} OK`));
  else ctx.out.error(`${what} refused: ${report.error?.message} [${report.error?.code}]`);
}

function reportJson(report: ImportReport) {
  return { ...report, error: report.error?.toJSON(), images: report.images.map((i) => ({ ...i, verification: { ...i.verification, results: i.verification.results.map((r) => ({ ...r, report: undefined })) } })) };
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Verify a transfer package without importing it, and report on it',
  usage: 'PACKAGE --keyring FILE|--signer-key REF (--key REF | --certificate-identity I --certificate-oidc-issuer U) [--report FILE.md]',
  flags: { ...IMPORT_FLAGS, report: { type: 'string', value: 'FILE.md', description: 'Also write the report as Markdown for the auditor' } },
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock inspect app-1.0.tar --keyring release-team.asc --key cosign.pub --insecure-ignore-tlog --report app-1.0.md', description: 'Check before carrying it in' }],
  async run(ctx) {
    const { importTransfer } = await import('../../transfer/import.ts');
    const report = await importTransfer({ source: ctx.positionals[0] ?? '', ...(await importOptions(ctx)), allowGap: true, stateDir: ctx.stateDir, now: ctx.now(), record: ctx.audit.record });
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

export const importCommand: Command = {
  name: 'import',
  summary: 'Verify a transfer package and push its images to the internal registry (air-gapped side)',
  usage: 'PACKAGE --registry HOST[/PREFIX] (--keyring FILE | --signer-key REF) [--require-signers K] [image trust flags]',
  description:
    'One streaming pass: the manifest\'s signers (at least K distinct, trusted) and the package\'s place on its\n' +
    'channel are checked before any payload byte is accepted; then every file must be listed and match its\n' +
    'hash; every image must verify with the image trust flags; only then are images pushed by digest, tags\n' +
    'last. Any failure: nothing tagged, the channel state unchanged, the package untouched. Re-running the\n' +
    'same package is idempotent. --rekor-url appends each verified image signature to the on-prem log\n' +
    '(before anything is pushed) and attaches the bundle with its log entry as one more referrer.',
  flags: {
    registry: { type: 'string', value: 'HOST[/PREFIX]', description: 'Internal registry to push to' },
    'rekor-url': { type: 'string', value: 'URL', description: 'Append each verified image signature to this on-prem log; attach the bundle with its entry' },
    'rekor-vkey': { type: 'string', value: 'VKEY|FILE', description: "With --rekor-url: the log's verifier key (log serve writes DATA/log.vkey); each entry must prove inclusion under it" },
    ...IMPORT_FLAGS,
    ...REGISTRY_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock import app-1.0.tar --registry registry.internal/mirror --keyring release-team.asc --require-signers 2 --key cosign.pub --insecure-ignore-tlog', description: 'Two-person rule on the manifest, key-signed images' }],
  async run(ctx) {
    const target = ctx.flags.string('registry');
    if (!target) throw new AirlockError('E_USAGE', 'import needs --registry HOST[/PREFIX]');
    const slash = target.indexOf('/');
    const registry = { host: slash < 0 ? target : target.slice(0, slash), ...(slash < 0 ? {} : { prefix: target.slice(slash + 1) }), options: await registryOptions(ctx) };
    const { importTransfer } = await import('../../transfer/import.ts');
    await ctx.audit.ready();
    const report = await importTransfer({
      source: ctx.positionals[0] ?? '',
      ...(await importOptions(ctx)),
      allowGap: ctx.flags.bool('allow-gap'),
      stateDir: ctx.stateDir,
      now: ctx.now(),
      registry,
      onProgress: (t) => ctx.out.progress(t),
      record: ctx.audit.record,
      ...(await rekorTarget(ctx)),
    });
    ctx.out.progressDone();
    printReport(ctx, report, 'Import');
    return { json: reportJson(report), exitCode: report.ok ? 0 : (report.error?.exitCode ?? 1) };
  },
};

export const approveCommand: Command = {
  name: 'approve',
  audit: 'transfer.approve',
  summary: 'Add a further signature over a package\'s manifest (e.g. the security team\'s), nothing else changed',
  usage: 'PACKAGE -o OUT (--pgp-key FILE | --key REF)',
  description:
    'Re-reads the package, checks every file against the manifest, and writes a new package with one more\n' +
    'signature: an OpenPGP signature joins manifest.sha256.asc, an airlock-key signature becomes\n' +
    'manifest.sha256.N.sigstore.json. The input is never modified. `import --require-signers K` counts them.',
  flags: {
    output: { type: 'string', short: 'o', value: 'OUT', description: 'The approved package to write' },
    format: { type: 'string', value: 'tar|dir', description: 'Container of OUT', default: 'tar' },
    force: { type: 'boolean', description: 'Overwrite OUT' },
    ...KEY_FLAGS,
    ...PGP_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock approve app-1.0.tar -o app-1.0.approved.tar --pgp-key security-team.asc', description: 'The security team co-signs' }],
  async run(ctx) {
    const out = ctx.flags.string('output');
    if (!out) throw new AirlockError('E_USAGE', 'approve needs -o OUT (the input is never modified)');
    const format = ctx.flags.string('format') ?? 'tar';
    if (format !== 'tar' && format !== 'dir') throw new AirlockError('E_USAGE', '--format takes tar or dir');
    const pgpKey = await pgpSigningKey(ctx);
    const keyRef = ctx.flags.string('key');
    const signer = keyRef ? await loadSigner(keyRef, keyContext(ctx, { passwordFile: ctx.flags.string('password-file') })) : undefined;
    try {
      const { approvePackage } = await import('../../transfer/approve.ts');
      const result = await approvePackage({ source: ctx.positionals[0] ?? '', out, format, overwrite: ctx.flags.bool('force'), ...(signer ? { signer } : {}), ...(pgpKey ? { pgpKey } : {}) });
      ctx.audit.subject(ctx.positionals[0] ?? '');
      ctx.audit.subject(out);
      ctx.audit.detail('added', result.added);
      ctx.out.info(`Approved: wrote ${out} with ${result.added.join(', ')}`);
      return { json: { ok: true, out, added: result.added } };
    } finally {
      await signer?.close();
    }
  },
};
