// The signing group: algorithm, transparency-log upload and timestamping, mapped to the signer's
// witness options with the --tlog-upload rules enforced before any work starts (seed 001): keyless
// needs a log; key + --tlog-upload=false is fully offline. It reads the key group's --key: without one
// the signature is keyless (a CA certifies an ephemeral key for an OIDC identity, options/keyless.ts).
// The services come from the URL flags or from cosign v3's --signing-config, never both.
import { isSigningAlgorithm } from '../../crypto/keys.ts';
import type { SigningAlgorithm } from '../../crypto/signer.ts';
import { AirlockError } from '../../errors.ts';
import { readJsonFile } from '../../files/read-json.ts';
import { parseSigningConfig, selectSigningServices, type SigningServices } from '../../sigstore/signing-config.ts';
import { PUBLIC_GOOD_REKOR_URL, type WitnessOptions } from '../../sigstore/witnesses.ts';
import { httpUrl } from '../http-url.ts';
import type { Flags, FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';

/** @sigstore/sign's DEFAULT_FULCIO_URL, as cosign defaults to it. */
export const PUBLIC_GOOD_FULCIO_URL = 'https://fulcio.sigstore.dev';

export const SIGNING_FLAGS = {
  'signing-algorithm': {
    type: 'string',
    value: 'ALG',
    description: "Force an algorithm, e.g. rsa-sign-pss-2048-sha256 (default: the key's own)",
  },
  'tlog-upload': {
    type: 'boolean',
    default: true,
    description: 'Upload the signature to the transparency log (--tlog-upload=false to sign offline)',
  },
  'rekor-url': {
    type: 'string',
    value: 'URL',
    description: 'Transparency log to upload to (default https://rekor.sigstore.dev)',
  },
  'rekor-api-version': {
    type: 'string',
    value: 'N',
    description: 'Rekor API version of --rekor-url: 1 or 2 (default 1)',
  },
  'tsa-url': { type: 'string', value: 'URL', description: 'RFC 3161 timestamp authority to timestamp the signature' },
  'identity-token': {
    type: 'string',
    value: '@FILE|TOKEN',
    description:
      'Keyless (no --key): the OIDC identity token, best as @FILE (argv is visible to other users); ' +
      'default SIGSTORE_ID_TOKEN, then GitHub Actions',
  },
  'fulcio-url': {
    type: 'string',
    value: 'URL',
    description: `Keyless: the Fulcio-compatible CA, e.g. airlock ca serve (default ${PUBLIC_GOOD_FULCIO_URL})`,
  },
  'signing-config': {
    type: 'string',
    value: 'FILE',
    description: "Sigstore SigningConfig v0.2 (cosign v3's): the CA, log and TSA to use, instead of the URL flags",
  },
} as const satisfies FlagSpecs;

export interface SigningPlan {
  /** Undefined: keyless. */
  readonly keyRef: string | undefined;
  /** Set exactly when keyRef is undefined. */
  readonly keyless?: { readonly fulcioUrl: string };
  readonly signingAlgorithm: SigningAlgorithm | undefined;
  readonly witnesses: WitnessOptions;
}

/** The flags --signing-config replaces. */
const SERVICE_FLAGS = ['fulcio-url', 'rekor-url', 'rekor-api-version', 'tsa-url'] as const;
const KEYLESS_ONLY_FLAGS = ['identity-token', 'fulcio-url'] as const;

function checkFlagCombinations(flags: Flags, keyRef: string | undefined): void {
  if (flags.string('signing-config') !== undefined) {
    const given = SERVICE_FLAGS.filter((f) => flags.string(f) !== undefined);
    if (given.length > 0) {
      throw new AirlockError('E_USAGE', `--signing-config conflicts with --${given.join(', --')}`, {
        hint: 'the signing config names the CA, the log and the TSA: give either it or the URL flags',
      });
    }
  }
  if (keyRef !== undefined) {
    const keyless = KEYLESS_ONLY_FLAGS.filter((f) => flags.string(f) !== undefined);
    if (keyless.length > 0) {
      throw new AirlockError('E_USAGE', `--${keyless.join(' and --')} is for keyless signing and conflicts with --key`);
    }
  }
}

function refuseKeylessOffline(): never {
  throw new AirlockError(
    'E_USAGE',
    '--tlog-upload=false needs --key: keyless signing cannot work without a transparency log',
    {
      hint:
        'keyless certificates live minutes and are only trustworthy through the log entry ' +
        'made while they were valid; ' +
        'to sign offline use an organisational key: --key cosign.key (or a pkcs11: URI) --tlog-upload=false',
    },
  );
}

/** The log and TSA from the flags, or from the signing config's selection. */
function witnessesFrom(flags: Flags, services: SigningServices | undefined): WitnessOptions {
  const tlogUpload = flags.bool('tlog-upload');
  if (services) {
    return {
      ...(tlogUpload && services.tlog
        ? {
            tlog: {
              url: httpUrl(services.tlog.url, 'the signing config log URL'),
              apiVersion: services.tlog.apiVersion,
            },
          }
        : {}),
      ...(services.tsaUrl ? { tsaUrl: httpUrl(services.tsaUrl, 'the signing config TSA URL') } : {}),
    };
  }
  const rekorURL = flags.string('rekor-url');
  if (!tlogUpload && rekorURL !== undefined) {
    throw new AirlockError('E_USAGE', '--rekor-url conflicts with --tlog-upload=false', {
      hint: 'drop --rekor-url to sign offline, or drop --tlog-upload=false to upload to that log',
    });
  }
  const apiVersion = flags.string('rekor-api-version') ?? '1';
  if (apiVersion !== '1' && apiVersion !== '2') {
    throw new AirlockError('E_USAGE', `--rekor-api-version must be 1 or 2, got '${apiVersion}'`);
  }
  const tsa = flags.string('tsa-url');
  return {
    ...(tlogUpload
      ? {
          tlog: {
            url: httpUrl(rekorURL ?? PUBLIC_GOOD_REKOR_URL, '--rekor-url'),
            apiVersion: Number(apiVersion) as 1 | 2,
          },
        }
      : {}),
    ...(tsa !== undefined ? { tsaUrl: httpUrl(tsa, '--tsa-url') } : {}),
  };
}

/**
 * Keyless rules: a log always (today's message for --tlog-upload=false), and with a Rekor v2 log a
 * timestamp too: v2 entries carry no integrated time, so only a TSA proves the signature was made
 * while the 10-minute certificate was valid (sigstore-go and sigstore-js refuse the same).
 */
function planKeyless(flags: Flags, services: SigningServices | undefined, witnesses: WitnessOptions) {
  // --tlog-upload=false was refused by planSigning before the witnesses were worked out.
  if (!witnesses.tlog) {
    throw new AirlockError(
      'E_USAGE',
      'the signing config names no transparency log valid now: keyless signing needs one',
    );
  }
  if (witnesses.tlog.apiVersion === 2 && !witnesses.tsaUrl) {
    throw new AirlockError(
      'E_USAGE',
      'keyless signing with a Rekor v2 log needs a timestamp authority (--tsa-url): the log records no ' +
        'time, and a short-lived certificate is only trustworthy with proof of when it signed',
      { hint: 'add --tsa-url URL (an RFC 3161 TSA, e.g. openssl ts behind HTTP), as Sigstore clients require' },
    );
  }
  const algorithm = flags.string('signing-algorithm');
  if (algorithm !== undefined && algorithm !== 'ecdsa-sha2-256-nistp256') {
    throw new AirlockError(
      'E_USAGE',
      `keyless signing uses an ephemeral P-256 key; --signing-algorithm ${algorithm} needs --key`,
    );
  }
  if (services && !services.caUrl) {
    throw new AirlockError('E_USAGE', 'the signing config names no CA valid now with API version 1 (Fulcio REST v2)');
  }
  const fulcioUrl = services?.caUrl ?? flags.string('fulcio-url') ?? PUBLIC_GOOD_FULCIO_URL;
  return { fulcioUrl: httpUrl(fulcioUrl, services ? 'the signing config CA URL' : '--fulcio-url', { prefix: true }) };
}

/** Pure: the flags (and the signing config's selection, when one was given) to a plan, or E_USAGE. */
export function planSigning(flags: Flags, services?: SigningServices): SigningPlan {
  const keyRef = flags.string('key');
  checkFlagCombinations(flags, keyRef);
  if (keyRef === undefined && !flags.bool('tlog-upload')) refuseKeylessOffline();
  const witnesses = witnessesFrom(flags, services);
  if (keyRef === undefined) {
    return { keyRef, keyless: planKeyless(flags, services, witnesses), signingAlgorithm: undefined, witnesses };
  }
  const algorithm = flags.string('signing-algorithm');
  if (algorithm !== undefined && !isSigningAlgorithm(algorithm)) {
    throw new AirlockError('E_USAGE', `unknown --signing-algorithm '${algorithm}'`);
  }
  return { keyRef, signingAlgorithm: algorithm, witnesses };
}

/** A signing config is 10 KiB at most in practice; the bound keeps a wrong file from filling memory. */
const MAX_SIGNING_CONFIG_BYTES = 1024 * 1024;

/** planSigning with --signing-config read (after the flag rules that need no file). */
export async function signingPlan(ctx: CommandContext): Promise<SigningPlan> {
  const path = ctx.flags.string('signing-config');
  if (path === undefined) return planSigning(ctx.flags);
  checkFlagCombinations(ctx.flags, ctx.flags.string('key'));
  const config = parseSigningConfig(await readJsonFile(path, 'signing config', MAX_SIGNING_CONFIG_BYTES));
  return planSigning(ctx.flags, selectSigningServices(config, ctx.now()));
}
