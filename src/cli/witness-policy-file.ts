// Reading a C2SP tlog-policy file named on the command line: `log serve --witness-policy` (whom to
// ask) and the verifiers' --witness-policy (whose cosignatures to require) take the same text.
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';
import { parseTlogPolicy, type TlogPolicy } from '../log/tlog-policy.ts';
import type { CommandContext } from './command.ts';

/** Far above any real policy (a line per witness), far below what a mistaken path could be. */
const MAX_POLICY_BYTES = 64 * 1024;

export async function readWitnessPolicyFile(
  ctx: Pick<CommandContext, 'cwd'>,
  file: string,
): Promise<{ policy: TlogPolicy; path: string }> {
  const path = resolve(ctx.cwd, file);
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_POLICY_BYTES)
        throw new AirlockError(
          'E_INPUT_MALFORMED',
          `${path} is ${size} bytes; a witness policy is at most ${MAX_POLICY_BYTES}`,
        );
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw err instanceof AirlockError ? err : fromFsError(err, path);
  }
  return { policy: parseTlogPolicy(text, path), path };
}
