// Note verifier keys (`name+<8 hex>+<base64>`) on the command line: given inline, or as the path of a
// file holding one (`log serve` writes DATA/log.vkey, `log witness` prints a witness's).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fromFsError } from '../errors.ts';
import type { CommandContext } from './command.ts';

export async function vkeyText(ctx: Pick<CommandContext, 'cwd'>, value: string): Promise<string> {
  if (/^[^\s+]+\+[0-9a-fA-F]{8}\+/.test(value)) return value;
  const path = resolve(ctx.cwd, value);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw fromFsError(err, path);
  }
}
