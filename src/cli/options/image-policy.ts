// An image policy file (airlock/v1 ImagePolicy) instead of the trust flags, for import, inspect and
// pack: the keys it names are read relative to the policy file, and the trust root, thresholds and
// witnesses come from the same flags as without a policy.
import type { KeyObject } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { loadPublicKey } from '../../crypto/key-ref.ts';
import { AirlockError } from '../../errors.ts';
import type { ImagePolicy } from '../../policy/image-policy.ts';
import type { LoadedPolicy } from '../../transfer/image-trust.ts';
import type { CommandContext } from '../command.ts';
import { keyContext } from './key.ts';
import { checkSctRequirement } from '../../sigstore/verify/sct-requirement.ts';
import type { VerifyBlobOptions } from '../../sigstore/verify/verify-blob.ts';
import { trustedRootFor, trustedRootPathFor, type VerifyPlan } from './trust.ts';
import { planWitnesses, witnessPolicy } from './witness-quorum.ts';

/** Reads an image policy and the key files it names (relative to the policy file). */
export async function policyOption(
  ctx: CommandContext,
  path: string,
  keyFlag: 'key' | 'image-key',
): Promise<LoadedPolicy> {
  const { loadPolicyFile } = await import('../../policy/policy-file.ts');
  const policy = refuseAdmissionOnly(await loadPolicyFile(path), path);
  const kc = keyContext(ctx);
  const keys = new Map<string, KeyObject>();
  for (const entry of policy.entries) {
    for (const a of entry.authorities)
      if ('key' in a && !keys.has(a.key)) keys.set(a.key, await loadPublicKey(resolve(dirname(path), a.key), kc));
  }
  const keysOnly = policy.entries.every((e) => e.authorities.every((a) => 'key' in a));
  return { policy, keys, base: await verificationBase(ctx, keysOnly, keyFlag) };
}

/**
 * What import and pack do not evaluate yet (admission does) is refused, never skipped: a policy that
 * asks for a log inclusion or an attestation's content must not let an image in without it.
 */
function refuseAdmissionOnly(policy: ImagePolicy, path: string): ImagePolicy {
  const unsupported = new Set<string>();
  for (const e of policy.entries) {
    if (e.requireLogInclusion) unsupported.add('requireLogInclusion');
    if (e.conditions.length > 0) unsupported.add('attestation conditions (maxSeverity)');
    if (e.authorities.some((a) => 'trust' in a && a.trust)) unsupported.add('trust: NAME on an authority');
  }
  if (unsupported.size === 0) return policy;
  throw new AirlockError(
    'E_USAGE',
    `${path} uses ${[...unsupported].join(', ')}, which only admission evaluates so far: import and pack ` +
      'would have to skip them',
    { hint: 'use a policy without them here (the trust flags choose the root), or check at admission' },
  );
}

/**
 * Trust root and thresholds without a trust (an image policy names the keys and identities): the same
 * rules as the flags' plan — --insecure-ignore-tlog only when every authority is a key.
 */
export async function verificationBase(
  ctx: CommandContext,
  keysOnly: boolean,
  keyFlag: 'key' | 'image-key' = 'key',
  /** Every authority that needs a trust root names its own (admission's `trust: NAME`): none by default. */
  rootsNamed = false,
): Promise<Omit<VerifyBlobOptions, 'trust'>> {
  const { flags } = ctx;
  for (const f of [
    keyFlag,
    'certificate-identity',
    'certificate-identity-regexp',
    'certificate-oidc-issuer',
    'certificate-oidc-issuer-regexp',
  ]) {
    if (flags.has(f))
      throw new AirlockError(
        'E_USAGE',
        `--${f} conflicts with --policy: the policy names who must have signed each image`,
      );
  }
  const insecure = flags.bool('insecure-ignore-tlog');
  if (insecure && !keysOnly)
    throw new AirlockError('E_USAGE', '--insecure-ignore-tlog is only allowed when every policy authority is a key');
  if (insecure)
    ctx.out.warn(
      '--insecure-ignore-tlog: no transparency-log entry is required; the signature time is not observed by anyone',
    );
  const witnesses = await witnessPolicy(ctx, planWitnesses(flags));
  const tlogThreshold = insecure ? 0 : flags.int('tlog-threshold', 1, 0, 16);
  const timestampThreshold = flags.int('timestamp-threshold', insecure ? 0 : 1, 0, 16);
  const optional = rootsNamed || (keysOnly && tlogThreshold === 0 && timestampThreshold === 0);
  const trustName = flags.string('trust') ?? 'public-good';
  const plan = {
    trustedRootPath: flags.string('trusted-root'),
    trustName,
    trustedRootOptional: optional,
    installedRootPath: trustedRootPathFor(ctx.stateDir, trustName),
  } as VerifyPlan;
  const trustedRoot = await trustedRootFor(ctx, plan);
  const ctlogThreshold = flags.int('ctlog-threshold', 1, 0, 16);
  // Keyless authorities verify under the default root unless each names its own (admission checks those).
  if (!keysOnly && !rootsNamed) checkSctRequirement(trustedRoot, ctlogThreshold);
  return {
    ...(trustedRoot ? { trustedRoot } : {}),
    tlogThreshold,
    ctlogThreshold,
    timestampThreshold,
    ...(witnesses ? { witnesses } : {}),
    now: ctx.now(),
  };
}
