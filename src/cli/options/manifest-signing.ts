// How pack and approve sign a transfer manifest's Sigstore bundle: with --key, offline as always (no
// log, no TSA: the far side trusts the key itself); without one, keylessly exactly as sign-blob signs
// (the signing group's flags and refusals: a log always, a TSA with a Rekor v2 log), the bundle then
// carrying the certificate, its log entry and timestamp. The plan is made before any work, so a missing
// token or a refused flag stops the command before a package is read.
import type { X509Certificate } from 'node:crypto';
import type { Signer } from '../../crypto/signer.ts';
import { AirlockError } from '../../errors.ts';
import type { WitnessOptions } from '../../sigstore/witnesses.ts';
import type { CommandContext } from '../command.ts';
import { keySigner } from './key.ts';
import { certificateSummary, openSigner, type TokenSource, tokenSourceFor } from './keyless.ts';
import { SIGNING_FLAGS, type SigningPlan, signingPlan } from './signing.ts';

export const MANIFEST_SIGNING_FLAGS = SIGNING_FLAGS;

/** Flags that ask for keyless signing when no --key is given. */
const KEYLESS_REQUEST_FLAGS = ['identity-token', 'fulcio-url', 'signing-config'] as const;
/** Flags a keyed (offline) manifest signature takes none of. */
const NOT_FOR_KEYED_MANIFESTS = [
  ...KEYLESS_REQUEST_FLAGS,
  'rekor-url',
  'rekor-api-version',
  'tsa-url',
  'tlog-upload',
  'signing-algorithm',
] as const;

export type ManifestSigning =
  | { readonly kind: 'none' }
  | { readonly kind: 'key'; readonly keyRef: string }
  | { readonly kind: 'keyless'; readonly plan: SigningPlan; readonly tokens: TokenSource | undefined };

/**
 * `keylessByDefault`: whether, with no --key, the command signs keylessly (pack with --sign, approve
 * with no --pgp-key); a keyless flag (--identity-token, --fulcio-url, --signing-config) asks for it
 * too. Checked now; nothing is opened.
 */
export async function manifestSigning(ctx: CommandContext, keylessByDefault: boolean): Promise<ManifestSigning> {
  const keyRef = ctx.flags.string('key');
  if (keyRef !== undefined) {
    const given = NOT_FOR_KEYED_MANIFESTS.filter((f) => ctx.flags.has(f));
    if (given.length > 0) {
      throw new AirlockError(
        'E_USAGE',
        `--${given.join(', --')}: for keyless signing (no --key); with --key the manifest is signed offline`,
        { hint: 'drop --key to sign keylessly, or drop the keyless flags' },
      );
    }
    return { kind: 'key', keyRef };
  }
  if (!keylessByDefault && !KEYLESS_REQUEST_FLAGS.some((f) => ctx.flags.has(f))) return { kind: 'none' };
  const plan = await signingPlan(ctx);
  return { kind: 'keyless', plan, tokens: tokenSourceFor(ctx, plan) };
}

/** The signer (to close) and the options pack and approve take: signer, certificate, witnesses. */
export interface ManifestSigner {
  readonly signer: Signer;
  readonly options: {
    readonly signer: Signer;
    readonly certificate?: X509Certificate;
    readonly witnesses?: WitnessOptions;
  };
}

/** Opens the key, or gets a certificate for an ephemeral one (recorded in the audit event, never the token). */
export async function openManifestSigner(
  ctx: CommandContext,
  signing: ManifestSigning,
): Promise<ManifestSigner | undefined> {
  if (signing.kind === 'none') return undefined;
  if (signing.kind === 'key') {
    const signer = await keySigner(ctx, signing.keyRef);
    return { signer, options: { signer } };
  }
  const opened = await openSigner(ctx, signing.plan, signing.tokens);
  const summary = certificateSummary(opened);
  if (summary) ctx.audit.detail('certificate', summary);
  const { signer, certificate } = opened;
  const { witnesses } = signing.plan;
  return { signer, options: { signer, ...(certificate ? { certificate } : {}), witnesses } };
}
