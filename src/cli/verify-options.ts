// From verification flags to the options of the verification engine, in one place for every command
// that verifies (verify-blob, verify, verify-attestation, inspect, import): the plan's rules, the trust
// root (file, or the installed one by name, with its break-glass warnings), and the key or identity.
import { loadPublicKey } from '../crypto/key-ref.ts';
import { AirlockError } from '../errors.ts';
import { type CosignatureVerifier, parseCosignerKey } from '../log/cosignature.ts';
import { keyIdHex } from '../log/note.ts';
import { type LoadedTrustedRoot, loadTrustedRootFile } from '../sigstore/trusted-root.ts';
import type { VerifyBlobOptions } from '../sigstore/verify/verify-blob.ts';
import type { WitnessPolicy } from '../sigstore/verify/witness-quorum.ts';
import { loadInstalledTrustRoot } from '../trust/installed.ts';
import type { CommandContext } from './command.ts';
import { keyContext } from './key-context.ts';
import {
  planVerification,
  planWitnesses,
  trustedRootPathFor,
  type VerifyPlan,
  type WitnessPlan,
} from './verify-plan.ts';
import { vkeyText } from './vkey-text.ts';
import { readWitnessPolicyFile } from './witness-policy-file.ts';

/** The witness keys and quorum of --witness-key / --require-witnesses, or --witness-policy; undefined when off. */
async function witnessPolicy(ctx: CommandContext, plan: WitnessPlan | undefined): Promise<WitnessPolicy | undefined> {
  if (!plan) return undefined;
  if ('policyFile' in plan) {
    const { policy, path } = await readWitnessPolicyFile(ctx, plan.policyFile);
    if (policy.quorum === 'none') {
      ctx.out.warn(`--witness-policy ${plan.policyFile}: 'quorum none', witness cosignatures are not checked`);
      return undefined;
    }
    return { policy, source: path };
  }
  // The same key given twice (inline and as a file, say) is one key, not an ambiguity.
  const byLabel = new Map<string, CosignatureVerifier>();
  for (const value of plan.keys) {
    const { verifier } = parseCosignerKey(await vkeyText(ctx, value));
    const label = `${verifier.name}+${keyIdHex(verifier.keyId)}`;
    const known = byLabel.get(label);
    if (known && !known.publicKey.equals(verifier.publicKey)) {
      throw new AirlockError(
        'E_USAGE',
        `two --witness-key keys are both named ${label}: a cosignature could not tell them apart`,
      );
    }
    byLabel.set(label, known ?? verifier);
  }
  const verifiers = [...byLabel.values()];
  const names = [...new Set(verifiers.map((v) => v.name))].sort();
  const required = plan.required ?? names.length;
  if (required === 0) {
    ctx.out.warn('--require-witnesses 0: witness cosignatures are not checked');
    return undefined;
  }
  if (required > names.length) {
    throw new AirlockError(
      'E_USAGE',
      `--require-witnesses ${required} exceeds the ${names.length} distinct witness(es) given (${names.join(', ')})`,
      {
        hint: 'keys of one witness name count once: give another --witness-key, or require fewer',
      },
    );
  }
  return { verifiers, required };
}

async function trustedRootFor(ctx: CommandContext, plan: VerifyPlan): Promise<LoadedTrustedRoot | undefined> {
  if (plan.trustedRootPath) return loadTrustedRootFile(plan.trustedRootPath);
  const installed = await loadInstalledTrustRoot(ctx.stateDir, plan.trustName, ctx.now());
  if (installed) {
    for (const warning of installed.warnings) ctx.out.warn(warning);
    return installed.loaded;
  }
  if (plan.trustedRootOptional) return undefined;
  throw new AirlockError(
    'E_TRUST_ROOT_MISSING',
    `no trust root: --trusted-root was not given and trust root '${plan.trustName}' is not installed`,
    {
      hint:
        `pass --trusted-root trusted_root.json, or install one with 'airlock trust import' ` +
        `(${plan.installedRootPath})` +
        (plan.trust?.kind === 'key'
          ? '; a bundle signed offline (--tlog-upload=false) needs no trust root with --key and --insecure-ignore-tlog'
          : ''),
    },
  );
}

export async function verificationOptions(
  ctx: CommandContext,
  type?: string,
  keyFlag: 'key' | 'image-key' = 'key',
): Promise<VerifyBlobOptions> {
  const plan = planVerification(ctx.flags, ctx.stateDir, type, keyFlag);
  if (plan.insecureIgnoreTlog)
    ctx.out.warn(
      '--insecure-ignore-tlog: no transparency-log entry is required; the signature time is not observed by anyone',
    );
  const witnesses = await witnessPolicy(ctx, plan.witnesses);
  const trustedRoot = await trustedRootFor(ctx, plan);
  const trust: VerifyBlobOptions['trust'] =
    plan.trust.kind === 'key'
      ? {
          kind: 'key',
          publicKey: await loadPublicKey(
            plan.trust.keyRef,
            keyContext(ctx, keyFlag === 'key' ? { passwordFile: ctx.flags.string('password-file') } : {}),
          ),
        }
      : { kind: 'identity', policy: { identity: plan.trust.identity, issuer: plan.trust.issuer } };
  return {
    trust,
    ...(trustedRoot ? { trustedRoot } : {}),
    tlogThreshold: plan.tlogThreshold,
    ctlogThreshold: plan.ctlogThreshold,
    timestampThreshold: plan.timestampThreshold,
    ...(plan.predicateType ? { predicateType: plan.predicateType } : {}),
    ...(witnesses ? { witnesses } : {}),
    now: ctx.now(),
  };
}

/**
 * Trust root and thresholds without a trust (an image policy names the keys and identities): the same
 * rules as the flags' plan — --insecure-ignore-tlog only when every authority is a key.
 */
export async function verificationBase(
  ctx: CommandContext,
  keysOnly: boolean,
  keyFlag: 'key' | 'image-key' = 'key',
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
  const optional = keysOnly && tlogThreshold === 0 && timestampThreshold === 0;
  const trustName = flags.string('trust') ?? 'public-good';
  const plan = {
    trustedRootPath: flags.string('trusted-root'),
    trustName,
    trustedRootOptional: optional,
    installedRootPath: trustedRootPathFor(ctx.stateDir, trustName),
  } as VerifyPlan;
  const trustedRoot = await trustedRootFor(ctx, plan);
  return {
    ...(trustedRoot ? { trustedRoot } : {}),
    tlogThreshold,
    ctlogThreshold: flags.int('ctlog-threshold', 1, 0, 16),
    timestampThreshold,
    ...(witnesses ? { witnesses } : {}),
    now: ctx.now(),
  };
}
