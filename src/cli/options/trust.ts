// The trust group of every command that verifies (verify-blob, verify, verify-attestation, inspect,
// import, and pack for the far side): who must have signed (a key, or a pinned identity and issuer),
// the trust root (a file, or an installed one by name, with its break-glass warnings), the thresholds
// and the witnesses. planVerification enforces the flag rules before any file is read;
// verificationOptions maps the flags to the verifier's options.
import { join } from 'node:path';
import { AirlockError } from '../../errors.ts';
import { resolvePredicateType } from '../../sigstore/in-toto.ts';
import { anchored, type Matcher } from '../../sigstore/verify/identity.ts';
import type { Flags, FlagSpecs } from '../args.ts';
import { loadPublicKey } from '../../crypto/key-ref.ts';
import { type LoadedTrustedRoot, loadTrustedRootFile } from '../../sigstore/trusted-root.ts';
import { checkSctRequirement } from '../../sigstore/verify/sct-requirement.ts';
import type { VerifyBlobOptions } from '../../sigstore/verify/verify-blob.ts';
import { loadInstalledTrustRoot } from '../../trust/installed.ts';
import type { CommandContext } from '../command.ts';
import { keyContext } from './key.ts';
import { planWitnesses, type WitnessPlan, WITNESS_QUORUM_FLAGS, witnessPolicy } from './witness-quorum.ts';

export const TRUST_FLAGS = {
  key: { type: 'string', value: 'REF', description: 'Public key (file, env://VAR, pkcs11: URI) that must have signed' },
  'certificate-identity': {
    type: 'string',
    value: 'ID',
    description: 'Exact identity (SAN) of the signing certificate',
  },
  'certificate-identity-regexp': {
    type: 'string',
    value: 'RE',
    description: 'Identity as a regexp matching the whole SAN',
  },
  'certificate-oidc-issuer': {
    type: 'string',
    value: 'URL',
    description: 'Exact OIDC issuer of the signing certificate',
  },
  'certificate-oidc-issuer-regexp': {
    type: 'string',
    value: 'RE',
    description: 'OIDC issuer as a regexp matching the whole value',
  },
  'trusted-root': {
    type: 'string',
    value: 'FILE',
    description: 'trusted_root.json to verify against (default: the installed one)',
  },
  trust: { type: 'string', value: 'NAME', description: 'Installed trust root to use', default: 'public-good' },
  'tlog-threshold': { type: 'string', value: 'N', description: 'Transparency-log entries required', default: '1' },
  'ctlog-threshold': {
    type: 'string',
    value: 'N',
    description: 'Certificate Transparency SCTs required',
    default: '1',
  },
  'timestamp-threshold': {
    type: 'string',
    value: 'N',
    description: 'Verified timestamps required (default 1 keyless, 0 with --key)',
  },
  'insecure-ignore-tlog': {
    type: 'boolean',
    description: 'Do not require a transparency-log entry (only with --key; warns)',
  },
  offline: {
    type: 'boolean',
    description: "Accepted for cosign's command lines; changes nothing: airlock never goes online to verify",
  },
  'password-file': { type: 'string', value: 'FILE', description: 'Password, if --key names an encrypted private key' },
  ...WITNESS_QUORUM_FLAGS,
} as const satisfies FlagSpecs;

export type TrustChoice =
  | { readonly kind: 'key'; readonly keyRef: string }
  | { readonly kind: 'identity'; readonly identity: Matcher; readonly issuer: Matcher };

export interface VerifyPlan {
  readonly trust: TrustChoice;
  readonly trustedRootPath: string | undefined;
  /** Where the installed trust root of --trust lives, used when --trusted-root is absent. */
  readonly installedRootPath: string;
  readonly trustName: string;
  readonly tlogThreshold: number;
  readonly ctlogThreshold: number;
  readonly timestampThreshold: number;
  readonly insecureIgnoreTlog: boolean;
  readonly predicateType: string | undefined;
  /** True when the trust root may be absent (key, no log, no timestamps). */
  readonly trustedRootOptional: boolean;
  /** Witness cosignatures to require on log checkpoints; undefined when no --witness-key is given. */
  readonly witnesses: WitnessPlan | undefined;
}

function matcher(flags: Flags, exactFlag: string, regexpFlag: string): Matcher | undefined {
  const exact = flags.string(exactFlag);
  const regexp = flags.string(regexpFlag);
  if (exact !== undefined && regexp !== undefined) {
    throw new AirlockError('E_USAGE', `--${exactFlag} and --${regexpFlag} conflict: give one`);
  }
  if (regexp !== undefined) {
    anchored(regexp, `--${regexpFlag}`); // a bad pattern is a usage error now, not a verdict later
    return { regexp };
  }
  return exact === undefined ? undefined : { exact };
}

export function trustedRootPathFor(stateDir: string, name: string): string {
  return join(stateDir, 'trust', name, 'current', 'trusted_root.json');
}

/**
 * `keyFlag`: the flag that names the trusted public key — `--key` everywhere but `pack`, whose `--key`
 * is its signing key and which takes the key images must verify with as `--image-key`.
 */
export function planVerification(
  flags: Flags,
  stateDir: string,
  type?: string,
  keyFlag: 'key' | 'image-key' = 'key',
): VerifyPlan {
  const keyRef = flags.string(keyFlag);
  const identity = matcher(flags, 'certificate-identity', 'certificate-identity-regexp');
  const issuer = matcher(flags, 'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp');
  let trust: TrustChoice;
  if (keyRef !== undefined) {
    if (identity || issuer)
      throw new AirlockError(
        'E_USAGE',
        `--${keyFlag} conflicts with --certificate-identity/--certificate-oidc-issuer: pick one trust`,
      );
    trust = { kind: 'key', keyRef };
  } else if (identity && issuer) {
    trust = { kind: 'identity', identity, issuer };
  } else {
    throw new AirlockError('E_USAGE', 'keyless verification needs both a pinned identity and an OIDC issuer', {
      hint:
        `pass --certificate-identity (or -regexp) AND --certificate-oidc-issuer (or -regexp), or --${keyFlag}; ` +
        '"anyone Sigstore trusts" is never a policy',
    });
  }
  const insecureIgnoreTlog = flags.bool('insecure-ignore-tlog');
  if (insecureIgnoreTlog && trust.kind !== 'key') {
    throw new AirlockError('E_USAGE', `--insecure-ignore-tlog is only allowed with --${keyFlag}`, {
      hint: 'a keyless certificate is only trustworthy through its log entry',
    });
  }
  if (insecureIgnoreTlog && flags.has('tlog-threshold')) {
    throw new AirlockError('E_USAGE', '--insecure-ignore-tlog conflicts with --tlog-threshold');
  }
  const timestampGiven = flags.has('timestamp-threshold');
  const tlogThreshold = insecureIgnoreTlog ? 0 : flags.int('tlog-threshold', 1, 0, 16);
  // A key has no validity window to place a signature in, so with --key no timestamp is required by
  // default (as cosign verifies key-signed Rekor v2 bundles, which carry no signed time): a log entry
  // without a time is checked against its log key's validity at the verification time instead.
  // Keyless certificates live minutes: they need a verified time.
  const timestampThreshold = flags.int('timestamp-threshold', trust.kind === 'key' ? 0 : 1, 0, 16);
  const trustName = flags.string('trust') ?? 'public-good';
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(trustName))
    throw new AirlockError('E_USAGE', `--trust: invalid name '${trustName}'`);
  return {
    trust,
    trustedRootPath: flags.string('trusted-root'),
    installedRootPath: trustedRootPathFor(stateDir, trustName),
    trustName,
    tlogThreshold,
    ctlogThreshold: flags.int('ctlog-threshold', 1, 0, 16),
    timestampThreshold,
    insecureIgnoreTlog,
    predicateType: type === undefined ? undefined : resolvePredicateType(type),
    trustedRootOptional: trust.kind === 'key' && tlogThreshold === 0 && timestampThreshold === 0 && !timestampGiven,
    witnesses: planWitnesses(flags),
  };
}

/** Where the trust root comes from: a plan's fields (the transfer signers' keyless trust has no full plan). */
export type TrustRootSource = Pick<
  VerifyPlan,
  'trustedRootPath' | 'installedRootPath' | 'trustName' | 'trustedRootOptional'
> & { readonly trust?: TrustChoice };

export async function trustedRootFor(
  ctx: CommandContext,
  plan: TrustRootSource,
): Promise<LoadedTrustedRoot | undefined> {
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
  // Refused before any artifact is read: under this root no keyless bundle could verify.
  if (plan.trust.kind === 'identity') checkSctRequirement(trustedRoot, plan.ctlogThreshold);
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
