// What inspect and import both check before anything is accepted: the manifest's signers, the channel
// and the package's age, and the trust every image must meet.
import { randomUUID } from 'node:crypto';
import type { CommandContext } from '../../command.ts';
import { CHANNEL_FLAGS, channelOptions } from '../../options/channels.ts';
import { IMPORT_TRUST_FLAGS, importTrustOption } from '../../options/import-trust.ts';
import { SIGNER_FLAGS, signersOption } from '../../options/signers.ts';

/** The checks inspect and import share: signers, channels, image trust. */
export async function checkOptions(ctx: CommandContext) {
  const channels = await channelOptions(ctx);
  return {
    signers: await signersOption(ctx),
    imageTrust: await importTrustOption(ctx),
    ...channels,
    importId: randomUUID(),
  };
}

export const IMPORT_FLAGS = {
  ...SIGNER_FLAGS,
  ...CHANNEL_FLAGS,
  'allow-gap': {
    type: 'boolean',
    description: 'Accept a package that skips sequence numbers, or starts a channel mid-way (recorded)',
  },
  ...IMPORT_TRUST_FLAGS,
} as const;
