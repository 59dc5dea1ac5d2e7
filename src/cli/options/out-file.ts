// The out-file group of the commands that save one file they produce (log info, get and witness, audit
// verify and export, trust create): --out FILE, resolved against the command's working directory, and
// --force to replace one that exists.
import { resolve } from 'node:path';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';

/** The group's flags, with what this command writes to FILE. */
export function outFileFlags(description: string) {
  return {
    out: { type: 'string', value: 'FILE', description },
    force: { type: 'boolean', description: 'Overwrite --out if it exists' },
  } as const satisfies FlagSpecs;
}

export interface OutFile {
  /** Absolute: resolved against the command's working directory. */
  readonly path: string;
  /** As typed, for messages that name it the way the user did. */
  readonly given: string;
  readonly overwrite: boolean;
}

/** Undefined without --out. */
export function outFile(ctx: CommandContext): OutFile | undefined {
  const given = ctx.flags.string('out');
  if (given === undefined) return undefined;
  return { path: resolve(ctx.cwd, given), given, overwrite: ctx.flags.bool('force') };
}
