// The image trust group of import and inspect: an image policy file, or the trust flags verify takes.
import type { ImageTrust } from '../../transfer/image-trust.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { policyOption } from './image-policy.ts';
import { TRUST_FLAGS, verificationOptions } from './trust.ts';

export const IMPORT_TRUST_FLAGS = {
  policy: {
    type: 'string',
    value: 'FILE',
    description: 'Image policy (airlock/v1 ImagePolicy): keys/identities and attestations per image name',
  },
  ...TRUST_FLAGS,
} as const satisfies FlagSpecs;

/** import/inspect: --policy FILE, or verify's trust flags. */
export async function importTrustOption(ctx: CommandContext): Promise<ImageTrust> {
  const policyPath = ctx.flags.string('policy');
  return policyPath ? policyOption(ctx, policyPath, 'key') : verificationOptions(ctx);
}
