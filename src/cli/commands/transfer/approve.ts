// `airlock approve`: a further signature over a package's manifest (e.g. the security team's), made
// only once the signatures already on it verify; nothing else in the package changes.
import type { Command } from '../../command.ts';
import { KEY_FLAGS } from '../../options/key.ts';
import { MANIFEST_SIGNING_FLAGS, manifestSigning, openManifestSigner } from '../../options/manifest-signing.ts';
import { PACKAGE_OUTPUT_FLAGS, packageOutput } from '../../options/package-output.ts';
import { PGP_FLAGS, pgpSigningKey } from '../../options/pgp-signing.ts';
import { SIGNER_FLAGS, signersOption } from '../../options/signers.ts';

export const approveCommand: Command = {
  name: 'approve',
  audit: 'transfer.approve',
  summary: "Add a further signature over a package's manifest (e.g. the security team's), nothing else changed",
  usage:
    'PACKAGE -o OUT (--signers FILE | --keyring FILE | --signer-key REF | --signer-identity SAN ' +
    '--signer-oidc-issuer URL) (--pgp-key FILE | --key REF | --identity-token @FILE)',
  description:
    'Re-reads the package, verifies the signatures already on its manifest against the signers given (at\n' +
    'least --require-signers of them: an approver co-signs only what they can verify), checks every file\n' +
    'against the manifest, and writes a new package with one more signature: an OpenPGP signature joins\n' +
    'manifest.sha256.asc, an airlock-key signature becomes manifest.sha256.N.sigstore.json. With neither\n' +
    '--key nor --pgp-key (or with --identity-token) that bundle is signed keylessly, as sign-blob signs\n' +
    '(--fulcio-url, --rekor-url, --tsa-url or --signing-config), and carries the certificate and its log\n' +
    'entry. The input is never modified. `import --require-signers K` counts distinct signers.',
  flags: {
    output: { ...PACKAGE_OUTPUT_FLAGS.output, description: 'The approved package to write' },
    format: { ...PACKAGE_OUTPUT_FLAGS.format, description: 'Container of OUT' },
    force: PACKAGE_OUTPUT_FLAGS.force,
    ...SIGNER_FLAGS,
    ...KEY_FLAGS,
    ...PGP_FLAGS,
    ...MANIFEST_SIGNING_FLAGS,
  },
  positionals: { min: 1, max: 1 },
  examples: [
    {
      command:
        'airlock approve app.pkg.tar -o app.approved.tar --signers signers.json --trusted-root root.json ' +
        '--ctlog-threshold 0 --identity-token @token --fulcio-url https://ca.internal --rekor-url https://log.internal',
      description: 'A keyless approval, after the keyless release signature verified under the private root',
    },
    {
      command: 'airlock approve app-1.0.tar -o app-1.0.approved.tar --signers signers.json --pgp-key security-team.asc',
      description: "The security team checks the release team's signature, then co-signs",
    },
  ],
  async run(ctx) {
    const { out, format, overwrite } = packageOutput(ctx, 'approve needs -o OUT (the input is never modified)');
    // With neither --key nor --pgp-key the approval is keyless; its plan and token source are checked now.
    const signing = await manifestSigning(ctx, !ctx.flags.has('pgp-key'));
    const signers = await signersOption(ctx);
    ctx.audit.subject(ctx.positionals[0] ?? ''); // named in the record whatever the verdict
    const pgpKey = await pgpSigningKey(ctx);
    // A key is opened now (a password is asked before the long read); a keyless certificate once the package verified.
    let opened = signing.kind === 'key' ? await openManifestSigner(ctx, signing) : undefined;
    const openSigner = async () => {
      opened = await openManifestSigner(ctx, signing);
      if (!opened) throw new Error('a keyless signing plan opens a signer');
      return opened.options;
    };
    try {
      const { approvePackage } = await import('../../../transfer/approve.ts');
      const result = await approvePackage({
        source: ctx.positionals[0] ?? '',
        out,
        format,
        overwrite,
        ...(opened ? opened.options : signing.kind === 'keyless' ? { openSigner } : {}),
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
      await opened?.signer.close();
    }
  },
};
