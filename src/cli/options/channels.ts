// The channels group of inspect and import: which transfer channels this side accepts (by name, or a
// channels file with the repositories each may write and their maximum age), and how old a package may be.
import { AirlockError } from '../../errors.ts';
import { readJsonFile } from '../../files/read-json.ts';
import type { AcceptedChannels } from '../../transfer/channels.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';

export const CHANNEL_FLAGS = {
  channel: {
    type: 'string',
    multiple: true,
    value: 'NAME',
    description: 'A channel this side accepts (repeatable); a package on any other is refused',
  },
  channels: {
    type: 'string',
    value: 'FILE',
    description: 'Channels file: accepted channels, the repositories each may write, their maximum age',
  },
  'max-age': {
    type: 'string',
    value: 'DURATION',
    description: "Refuse packages created longer ago than this (90m, 36h, 14d; default 30d, or the channels file's)",
  },
} as const satisfies FlagSpecs;

export interface ChannelOptions {
  /** Undefined when neither --channel nor --channels is given. */
  readonly channels?: AcceptedChannels;
  readonly maxAgeMs?: number;
}

/** --channel NAME… or --channels FILE, and --max-age. */
export async function channelOptions(ctx: CommandContext): Promise<ChannelOptions> {
  const names = ctx.flags.strings('channel');
  const file = ctx.flags.string('channels');
  const { channelsFromNames, parseChannelsFile, parseDuration } = await import('../../transfer/channels.ts');
  if (file !== undefined && names.length > 0)
    throw new AirlockError('E_USAGE', '--channel conflicts with --channels: list the channels in the file');
  const channels =
    file !== undefined
      ? parseChannelsFile(await readJsonFile(file, 'channels file', 1024 * 1024), file)
      : names.length > 0
        ? channelsFromNames(names)
        : undefined;
  const maxAge = ctx.flags.string('max-age');
  const maxAgeMs = maxAge === undefined ? undefined : parseDuration(maxAge, '--max-age');
  return { ...(channels ? { channels } : {}), ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) };
}
