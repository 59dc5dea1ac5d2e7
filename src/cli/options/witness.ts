// The witness group: a witness's identity and memory, the same in `log witness` (pull) and
// `log witness-serve` (push): its state file, its Ed25519 key and the name its cosignatures carry.
import { resolve } from 'node:path';
import { AirlockError } from '../../errors.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { KEY_FLAGS } from './key.ts';

export const WITNESS_FLAGS = {
  state: {
    type: 'string',
    value: 'FILE',
    description: 'The witness state (JSON): last cosigned size and root per origin',
  },
  init: { type: 'boolean', description: 'Create --state if it does not exist (first run only)' },
  key: { ...KEY_FLAGS.key, description: 'The witness signing key (Ed25519): file path, env://VAR, or pkcs11: URI' },
  'password-file': KEY_FLAGS['password-file'],
  name: {
    type: 'string',
    value: 'NAME',
    description: 'The witness name in cosignature lines (a key name: no spaces or +)',
  },
} as const satisfies FlagSpecs;

export interface WitnessIdentity {
  /** The state file, resolved against the command's working directory. */
  readonly statePath: string;
  readonly keyRef: string;
  readonly name: string;
  /** Start from an empty state when the file does not exist. */
  readonly init: boolean;
}

/** The witness the flags name; `usage` is the command's E_USAGE message when one of them is missing. */
export function witnessIdentity(ctx: CommandContext, usage: string): WitnessIdentity {
  const { flags } = ctx;
  const [state, keyRef, name] = [flags.string('state'), flags.string('key'), flags.string('name')];
  if (!state || !keyRef || !name) throw new AirlockError('E_USAGE', usage);
  return { statePath: resolve(ctx.cwd, state), keyRef, name, init: flags.bool('init') };
}
