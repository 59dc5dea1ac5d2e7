// `airlock policy check FILE`: validate an ImagePolicy and say what it means in words, before it is
// given to import or to the admission webhook. The keys it names are read (relative to the policy), so
// a typo fails here rather than as a denial in the cluster.
import { dirname, resolve } from 'node:path';
import { loadPublicKey } from '../../../crypto/key-ref.ts';
import { describePolicy } from '../../../policy/describe-policy.ts';
import type { ImagePolicy } from '../../../policy/image-policy.ts';
import { loadPolicyFile } from '../../../policy/policy-file.ts';
import { listInstalledNames } from '../../../trust/installed.ts';
import type { Command, CommandContext } from '../../command.ts';
import { keyContext } from '../../options/key.ts';

async function checkKeys(ctx: CommandContext, policy: ImagePolicy, path: string): Promise<string[]> {
  const keys = new Set(policy.entries.flatMap((e) => e.authorities.flatMap((a) => ('key' in a ? [a.key] : []))));
  for (const key of keys) await loadPublicKey(resolve(dirname(path), key), keyContext(ctx));
  return [...keys];
}

/** Trust roots the policy names that are not installed here: a warning (the policy may be for elsewhere). */
async function missingTrustRoots(ctx: CommandContext, policy: ImagePolicy): Promise<string[]> {
  const named = new Set(
    policy.entries.flatMap((e) => e.authorities.flatMap((a) => ('trust' in a && a.trust ? [a.trust] : []))),
  );
  const installed = new Set(await listInstalledNames(ctx.stateDir).catch(() => [] as string[]));
  return [...named].filter((n) => !installed.has(n));
}

export const policyCheckCommand: Command = {
  name: 'policy check',
  summary: 'Validate an image policy (YAML or JSON) and print what it means in words',
  usage: 'FILE',
  description:
    'Parses an airlock/v1 ImagePolicy as import --policy and admission read it, reads every key it names\n' +
    '(relative to the policy file), and prints each entry in words: what it admits, who must have\n' +
    'signed, what must be attested, enforce or warn, and in which namespaces. Schema: docs/policy.md.',
  flags: {},
  positionals: { min: 1, max: 1 },
  examples: [{ command: 'airlock policy check policy.yaml', description: 'Check a policy before deploying it' }],
  async run(ctx) {
    const path = resolve(ctx.cwd, ctx.positionals[0] ?? '');
    const policy = await loadPolicyFile(path);
    const keys = await checkKeys(ctx, policy, path);
    const missing = await missingTrustRoots(ctx, policy);
    for (const name of missing)
      ctx.out.warn(`trust root "${name}" is not installed here: install it where the policy is used`);
    const meaning = describePolicy(policy);
    const count = `${policy.entries.length} ${policy.entries.length === 1 ? 'entry' : 'entries'}`;
    ctx.out.info(`${ctx.out.paint('green', 'valid')}: ${ctx.positionals[0]} (${count})`);
    for (const line of meaning) ctx.out.info(line);
    return { json: { ok: true, path, entries: policy.entries.length, keys, missingTrustRoots: missing, meaning } };
  },
};
