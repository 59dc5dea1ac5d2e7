// `airlock admission export`: an ImagePolicy and its trust roots as objects for an admission controller
// a team already runs — sigstore/policy-controller (TrustRoot + ClusterImagePolicy) or Kyverno
// (ClusterPolicy verifyImages). What the target cannot express is listed at the top of the YAML, on
// stderr and in --json; --strict refuses to write anything then.
import { basename, dirname, resolve } from 'node:path';
import type { ExportInput, ExportTarget, ExportTrustRoot } from '../../../admission/export/common.ts';
import { AirlockError } from '../../../errors.ts';
import type { Command, CommandContext } from '../../command.ts';
import { keyContext } from '../../options/key.ts';

const FORMATS: readonly ExportTarget[] = ['policy-controller', 'kyverno'];

function formatOption(ctx: CommandContext): ExportTarget {
  const format = ctx.flags.string('format');
  if (!FORMATS.includes(format as ExportTarget))
    throw new AirlockError(
      'E_USAGE',
      format === undefined ? 'airlock admission export needs --format' : `unknown --format '${format}'`,
      { hint: `--format ${FORMATS.join(' or ')}` },
    );
  return format as ExportTarget;
}

/** `--trusted-root [NAME=]FILE` and `--trust NAME`, in the order given: the first is the default. */
async function trustRoots(ctx: CommandContext): Promise<ExportTrustRoot[]> {
  const { loadTrustedRootFile } = await import('../../../sigstore/trusted-root.ts');
  const { loadInstalledTrustRoot } = await import('../../../trust/installed.ts');
  const { validateTrustName } = await import('../../../trust/install.ts');
  const roots: ExportTrustRoot[] = [];
  for (const spec of ctx.flags.strings('trusted-root')) {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? validateTrustName(spec.slice(0, eq)) : 'default';
    roots.push({ name, root: (await loadTrustedRootFile(resolve(ctx.cwd, spec.slice(eq + 1)))).root });
  }
  for (const name of ctx.flags.strings('trust')) {
    const installed = await loadInstalledTrustRoot(ctx.stateDir, validateTrustName(name), ctx.now());
    if (!installed)
      throw new AirlockError('E_TRUST_ROOT_MISSING', `no trust root '${name}' is installed`, {
        hint: 'airlock trust status lists the installed roots; or give the file with --trusted-root NAME=FILE',
      });
    for (const w of installed.warnings) ctx.out.warn(w);
    roots.push({ name, root: installed.loaded.root });
  }
  const names = roots.map((r) => r.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new AirlockError('E_USAGE', `trust root '${twice}' is given twice`);
  return roots;
}

async function exportInput(ctx: CommandContext, path: string): Promise<ExportInput> {
  const { loadPolicyFile } = await import('../../../policy/policy-file.ts');
  const { loadPublicKey } = await import('../../../crypto/key-ref.ts');
  const { publicKeyPem } = await import('../../../crypto/keys.ts');
  const policy = await loadPolicyFile(path);
  const keys = new Map<string, string>();
  for (const entry of policy.entries)
    for (const a of entry.authorities)
      if ('key' in a && !keys.has(a.key))
        keys.set(a.key, publicKeyPem(await loadPublicKey(resolve(dirname(path), a.key), keyContext(ctx))));
  return { policy, keys, trustRoots: await trustRoots(ctx) };
}

async function runExport(ctx: CommandContext) {
  const format = formatOption(ctx);
  const policyFlag = ctx.flags.string('policy');
  if (!policyFlag) throw new AirlockError('E_USAGE', 'airlock admission export needs --policy FILE');
  const input = await exportInput(ctx, resolve(ctx.cwd, policyFlag));
  const { exportYaml } = await import('../../../admission/export/common.ts');
  const result =
    format === 'kyverno'
      ? (await import('../../../admission/export/kyverno.ts')).exportKyverno(input)
      : (await import('../../../admission/export/policy-controller.ts')).exportPolicyController(input);
  for (const u of result.unexpressed) ctx.out.warn(`not expressed in ${format}: ${u}`);
  if (result.unexpressed.length > 0 && ctx.flags.bool('strict'))
    throw new AirlockError(
      'E_UNSUPPORTED',
      `${format} cannot express ${result.unexpressed.length} rule(s) of ${policyFlag} (listed above); nothing written`,
      { hint: 'leave out --strict to export anyway, with the rules listed at the top of the YAML' },
    );
  const text = exportYaml(result, format, basename(policyFlag));
  const output = ctx.flags.string('output');
  if (output) {
    const { writeFileAtomic } = await import('../../../files/atomic-write.ts');
    await writeFileAtomic(resolve(ctx.cwd, output), text, { overwrite: ctx.flags.bool('force') });
    ctx.out.info(`${result.objects.length} objects written to ${output}`);
  } else ctx.out.data(text);
  if (result.unexpressed.length > 0)
    ctx.out.info(`${result.unexpressed.length} airlock rule(s) are NOT enforced by ${format}: see the warnings above`);
  return {
    json: {
      format,
      objects: result.objects.map((o) => ({ kind: o.kind, name: o.metadata.name })),
      unexpressed: result.unexpressed,
      complete: result.unexpressed.length === 0,
      ...(output ? { output } : { yaml: text }),
    },
  };
}

export const admissionExportCommand: Command = {
  name: 'admission export',
  summary: 'Turn an image policy into policy-controller or Kyverno objects, listing what they cannot enforce',
  usage:
    '--policy FILE --format policy-controller|kyverno [--trusted-root [NAME=]FILE | --trust NAME]... [--output FILE]',
  description:
    'For teams that already run an admission controller. policy-controller: a TrustRoot per trust root\n' +
    '(sigstoreKeys inline, no TUF) and ClusterImagePolicies (one for the signature of each entry, one per\n' +
    'attestation type). kyverno: one ClusterPolicy, a verifyImages rule per entry, all keys inline.\n' +
    'Authorities with `trust: NAME` use the root of that name; the others the first one given. Rules the\n' +
    'target cannot express are listed at the top of the YAML, as warnings and in --json (exit 0);\n' +
    '--strict makes that exit 2 with nothing written. Mapping: docs/admission.md.',
  flags: {
    policy: { type: 'string', value: 'FILE', description: 'The airlock/v1 ImagePolicy (keys relative to it)' },
    format: { type: 'string', value: 'TARGET', description: 'policy-controller or kyverno' },
    'trusted-root': {
      type: 'string',
      multiple: true,
      value: '[NAME=]FILE',
      description: "A trusted_root.json, named for authorities' trust: (default name: default); repeatable",
    },
    trust: { type: 'string', multiple: true, value: 'NAME', description: 'An installed trust root; repeatable' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'Write the YAML to FILE instead of stdout' },
    force: { type: 'boolean', description: 'Overwrite --output FILE' },
    strict: { type: 'boolean', description: 'Exit 2 and write nothing if any rule cannot be expressed' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command:
        'airlock admission export --policy policy.yaml --format policy-controller --trust corp | kubectl apply -f -',
      description: 'policy-controller objects, Rekor and Fulcio keys from the installed root corp',
    },
    {
      command:
        'airlock admission export --policy policy.yaml --format kyverno --trusted-root trusted_root.json --strict',
      description: 'A Kyverno ClusterPolicy, refused if any airlock rule would be lost',
    },
  ],
  run: runExport,
};
