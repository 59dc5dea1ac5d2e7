// Note verifier keys (`name+<8 hex>+<base64>`) on the command line: given inline, or as the path of a
// file holding one (`log serve` writes DATA/log.vkey, `log witness` prints a witness's).
import { resolve } from 'node:path';
import type { CommandContext } from './command.ts';
import { readInputText } from '../files/read-file.ts';

export async function vkeyText(ctx: Pick<CommandContext, 'cwd'>, value: string): Promise<string> {
  if (/^[^\s+]+\+[0-9a-fA-F]{8}\+/.test(value)) return value;
  const path = resolve(ctx.cwd, value);
  return (await readInputText(path, 'a verifier key file', 64 * 1024)).trim();
}
