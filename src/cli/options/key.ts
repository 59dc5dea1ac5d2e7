// The key group: --key names a signing key (a file, env://VAR or a pkcs11: URI) and --password-file its
// password. The key context carries what loading a key needs from the CLI's edges (env, terminal,
// warnings); keySigner opens the key the flags name.
import type { KeyContext } from '../../crypto/key-ref.ts';
import { loadSigner } from '../../crypto/key-ref.ts';
import type { Signer, SigningAlgorithm } from '../../crypto/signer.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { passwordSource } from '../password.ts';

export const KEY_FLAGS = {
  key: { type: 'string', value: 'REF', description: 'Signing key: file path, env://VAR, or pkcs11: URI' },
  'password-file': { type: 'string', value: 'FILE', description: 'Read the key password from FILE (first line)' },
} as const satisfies FlagSpecs;

export function keyContext(
  ctx: CommandContext,
  options: { passwordFile?: string; confirm?: boolean } = {},
): KeyContext {
  return {
    env: ctx.env,
    password: passwordSource(ctx.io, ctx.env, options),
    warn: (message) => ctx.out.warn(message),
  };
}

/** Opens `keyRef` (the command's --key, checked by it) with the password --password-file names. */
export function keySigner(ctx: CommandContext, keyRef: string, preferred?: SigningAlgorithm): Promise<Signer> {
  return loadSigner(keyRef, keyContext(ctx, { passwordFile: ctx.flags.string('password-file') }), preferred);
}
