// The platform group of copy, save and load: the whole index (the default, which keeps its digest), or
// one platform's image out of it.
import { AirlockError } from '../../errors.ts';
import { parsePlatform } from '../../oci/manifest.ts';
import type { Platform } from '../../oci/types.ts';
import type { Flags, FlagSpecs } from '../args.ts';

export const PLATFORM_FLAGS = {
  platform: { type: 'string', value: 'OS/ARCH', description: 'From a multi-platform index, only this platform' },
  'all-platforms': { type: 'boolean', description: 'Every platform of an index (the default; keeps the index digest)' },
} as const satisfies FlagSpecs;

/** The one platform to copy, or undefined for every platform. */
export function platformOption(flags: Flags): Platform | undefined {
  const text = flags.string('platform');
  if (text && flags.bool('all-platforms'))
    throw new AirlockError('E_USAGE', '--platform conflicts with --all-platforms');
  return text ? parsePlatform(text) : undefined;
}
