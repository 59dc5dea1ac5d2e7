// The package output group of pack and approve: the package to write (-o), as a tar or a folder, and
// whether one that exists may be replaced.
import { AirlockError } from '../../errors.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';

export const PACKAGE_OUTPUT_FLAGS = {
  output: {
    type: 'string',
    short: 'o',
    value: 'OUT',
    description: 'Package to write (a .tar, or a folder with --format dir)',
  },
  format: { type: 'string', value: 'tar|dir', description: 'Package container', default: 'tar' },
  force: { type: 'boolean', description: 'Overwrite OUT' },
} as const satisfies FlagSpecs;

export interface PackageOutput {
  readonly out: string;
  readonly format: 'tar' | 'dir';
  readonly overwrite: boolean;
}

/** `missing` is the command's E_USAGE message when -o is not given. */
export function packageOutput(ctx: CommandContext, missing: string): PackageOutput {
  const out = ctx.flags.string('output');
  if (!out) throw new AirlockError('E_USAGE', missing);
  const format = ctx.flags.string('format') ?? 'tar';
  if (format !== 'tar' && format !== 'dir') throw new AirlockError('E_USAGE', '--format takes tar or dir');
  return { out, format, overwrite: ctx.flags.bool('force') };
}
