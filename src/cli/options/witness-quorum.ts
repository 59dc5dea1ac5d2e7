// The witness-quorum group of every command that verifies: whose cosignatures a log checkpoint must
// carry (--witness-key keys and --require-witnesses, or a C2SP tlog-policy file), mapped to the
// verifier's witness policy. Witnesses cosign checkpoints of log entries, so it needs a log entry.
import { AirlockError } from '../../errors.ts';
import type { Flags, FlagSpecs } from '../args.ts';
import { type CosignatureVerifier, parseCosignerKey } from '../../log/cosignature.ts';
import { keyIdHex } from '../../log/note.ts';
import type { WitnessPolicy } from '../../sigstore/verify/witness-quorum.ts';
import type { CommandContext } from '../command.ts';
import { vkeyText } from '../vkey-text.ts';
import { readWitnessPolicyFile } from '../witness-policy-file.ts';

export const WITNESS_QUORUM_FLAGS = {
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

/** The witness keys and quorum of --witness-key / --require-witnesses, or --witness-policy; undefined when off. */
export async function witnessPolicy(
  ctx: CommandContext,
  plan: WitnessPlan | undefined,
): Promise<WitnessPolicy | undefined> {
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
