// Builds the KeyContext domain key loading needs from the CLI's edges (env, terminal, warnings).
import type { KeyContext } from '../crypto/key-ref.ts';
import type { CommandContext } from './command.ts';
import { passwordSource } from './password.ts';

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
