// The policy and the material it names, loaded as `airlock admission serve` loads them, for every
// admission command that decides: the trust flags' thresholds and default root (--trusted-root, or an
// installed --trust NAME with its freshness), the keys relative to the policy, installed roots, on-prem
// logs. The fingerprint of the files it came from lets the server see when to load it again.
import { fingerprint, loadMaterial, type LoadedMaterial } from '../../../admission/material-loader.ts';
import { checkSctRequirements } from '../../../admission/material.ts';
import type { CommandContext } from '../../command.ts';
import { loadPolicyFile } from '../../../policy/policy-file.ts';
import { verificationBase } from '../../options/image-policy.ts';
import { keyContext } from '../../options/key.ts';

export interface Loaded extends LoadedMaterial {
  readonly fingerprint: string;
}

export async function loadAdmissionMaterial(ctx: CommandContext, policyPath: string): Promise<Loaded> {
  // Which trust flags apply depends on the authorities: read the policy alone first.
  const authorities = (await loadPolicyFile(policyPath)).entries.flatMap((e) => e.authorities);
  const keysOnly = authorities.every((a) => 'key' in a);
  // Keyless authorities that each name an installed root need no default one.
  const rootsNamed = !keysOnly && authorities.every((a) => 'trust' in a && a.trust !== undefined);
  const { now: _now, ...base } = await verificationBase(ctx, keysOnly, 'key', rootsNamed);
  // A default root that came from an installed one (--trust NAME, or public-good) keeps its freshness.
  const installed = !ctx.flags.string('trusted-root') && base.trustedRoot !== undefined;
  const trustName = installed ? (ctx.flags.string('trust') ?? 'public-good') : undefined;
  const loaded = await loadMaterial({
    policyPath,
    base,
    ...(trustName ? { defaultTrustName: trustName } : {}),
    stateDir: ctx.stateDir,
    keyContext: keyContext(ctx),
    now: ctx.now(),
  });
  checkSctRequirements(loaded.policy, loaded.material);
  return { ...loaded, fingerprint: await fingerprint(loaded.files) };
}
