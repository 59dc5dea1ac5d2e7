// The trust group of pack: the trust images must meet inside the gap, checked on the connected side
// where a gap can still be fixed — import's image trust flags, with the key as --image-key (pack's --key
// signs), an image policy, or, with --sign, the key pack signs with.
import type { KeyObject } from 'node:crypto';
import type { ImageTrust } from '../../transfer/image-trust.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { policyOption } from './image-policy.ts';
import { TRUST_FLAGS, verificationOptions } from './trust.ts';

/** pack: the trust images must meet inside the gap — import's image trust flags, with the key as --image-key. */
export const PACK_TRUST_FLAGS = (() => {
  const { key: _key, 'password-file': _password, ...rest } = TRUST_FLAGS;
  return {
    'image-key': {
      type: 'string',
      value: 'REF',
      description: "Public key the images' signatures must verify with inside the gap (import's --key)",
    },
    ...rest,
    policy: {
      type: 'string',
      value: 'FILE',
      description: 'Image policy the far side applies (airlock/v1 ImagePolicy): checked here, per image',
    },
    'allow-unsigned': {
      type: 'boolean',
      description: 'Pack images that carry no signature at all (each marked so in the metadata)',
    },
  } as const satisfies FlagSpecs;
})();

/**
 * pack: the trust named by --policy / --image-key / an identity; with none, --sign implies the key it
 * signs with (no log entry, no timestamp: pack signs offline); otherwise none (pack then needs
 * --allow-unsigned).
 */
export async function packTrustOption(
  ctx: CommandContext,
  signingKey: KeyObject | undefined,
): Promise<ImageTrust | undefined> {
  const policyPath = ctx.flags.string('policy');
  if (policyPath) return policyOption(ctx, policyPath, 'image-key');
  const named = [
    'image-key',
    'certificate-identity',
    'certificate-identity-regexp',
    'certificate-oidc-issuer',
    'certificate-oidc-issuer-regexp',
  ].some((f) => ctx.flags.has(f));
  if (named) return verificationOptions(ctx, undefined, 'image-key');
  if (ctx.flags.bool('sign') && signingKey) {
    return {
      trust: { kind: 'key', publicKey: signingKey },
      tlogThreshold: ctx.flags.int('tlog-threshold', 0, 0, 16),
      timestampThreshold: ctx.flags.int('timestamp-threshold', 0, 0, 16),
      now: ctx.now(),
    };
  }
  return undefined;
}
