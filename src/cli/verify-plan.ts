// Maps verification flags (cosign's spelling) to library options and enforces their rules before any
// file is read: a pinned identity AND issuer for keyless, --insecure-ignore-tlog only with a key.
import { join } from 'node:path';
import { isDigestString } from '../crypto/digest.ts';
import { AirlockError } from '../errors.ts';
import { resolvePredicateType } from '../sigstore/in-toto.ts';
import { anchored, type Matcher } from '../sigstore/verify/identity.ts';
import type { Flags, FlagSpecs } from './args.ts';

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
  'witness-key': {
    type: 'string',
    multiple: true,
    value: 'VKEY|FILE',
    description: 'A witness cosigner key (name+id+key, as `airlock log witness` prints it), or a file holding one',
  },
  'require-witnesses': {
    type: 'string',
    value: 'N',
    description:
      'Cosignatures of N distinct --witness-key witnesses required on every log checkpoint ' +
      '(default: all given; 0 = off)',
  },
  'witness-policy': {
    type: 'string',
    value: 'FILE',
    description:
      'A C2SP tlog-policy (as log serve --witness-policy takes): its quorum of witnesses must ' +
      'cosign every log checkpoint',
  },
} as const satisfies FlagSpecs;

/** The most witnesses a checkpoint can name: a signed note holds at most 100 signature lines. */
const MAX_WITNESSES = 100;

export type WitnessPlan =
  | {
      /** --witness-key values, in order: inline vkeys or files, read later. */
      readonly keys: readonly string[];
      /** --require-witnesses; undefined = one per distinct witness name. 0 turns the check off. */
      readonly required: number | undefined;
    }
  | {
      /** --witness-policy: a tlog-policy file, read later. */
      readonly policyFile: string;
    };

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

/**
 * --witness-key / --require-witnesses, or --witness-policy. Witnesses cosign log checkpoints, so they need a log entry:
 * --insecure-ignore-tlog conflicts. Whether N exceeds the witnesses given is known once the keys
 * (maybe files) are read.
 */
export function planWitnesses(flags: Flags): WitnessPlan | undefined {
  const keys = flags.strings('witness-key');
  const requiredGiven = flags.has('require-witnesses');
  const policyFile = flags.string('witness-policy');
  if (policyFile !== undefined) {
    if (keys.length > 0 || requiredGiven) {
      throw new AirlockError(
        'E_USAGE',
        '--witness-policy conflicts with --witness-key and --require-witnesses: the policy names ' +
          'the witnesses and the quorum',
      );
    }
    if (flags.bool('insecure-ignore-tlog'))
      throw new AirlockError(
        'E_USAGE',
        '--witness-policy conflicts with --insecure-ignore-tlog: witnesses cosign the checkpoints of log entries',
      );
    return { policyFile };
  }
  if (keys.length === 0) {
    if (requiredGiven)
      throw new AirlockError(
        'E_USAGE',
        '--require-witnesses counts the --witness-key witnesses: give at least one --witness-key',
      );
    return undefined;
  }
  if (flags.bool('insecure-ignore-tlog')) {
    throw new AirlockError(
      'E_USAGE',
      '--witness-key conflicts with --insecure-ignore-tlog: witnesses cosign the checkpoints of log entries',
      {
        hint: 'witness cosignatures are only checked on bundles with a transparency-log entry',
      },
    );
  }
  return { keys, required: requiredGiven ? flags.int('require-witnesses', 0, 0, MAX_WITNESSES) : undefined };
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

/** FILE_OR_DIGEST as the conformance protocol has it: sha256:<hex> when it is not an existing path. */
export function artifactArgument(arg: string, exists: boolean): { path: string } | { digest: string } {
  return !exists && isDigestString(arg) ? { digest: arg } : { path: arg };
}
