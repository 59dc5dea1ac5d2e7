// The signing group: algorithm, transparency-log upload and timestamping, mapped to the signer's
// witness options with the --tlog-upload rules enforced before any work starts (seed 001): keyless
// needs a log; key + --tlog-upload=false is fully offline. It reads the key group's --key.
import { isSigningAlgorithm } from '../../crypto/keys.ts';
import type { SigningAlgorithm } from '../../crypto/signer.ts';
import { AirlockError } from '../../errors.ts';
import { PUBLIC_GOOD_REKOR_URL, type WitnessOptions } from '../../sigstore/witnesses.ts';
import { httpUrl } from '../http-url.ts';
import type { Flags, FlagSpecs } from '../args.ts';

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
} as const satisfies FlagSpecs;

export interface SigningPlan {
  readonly keyRef: string;
  readonly signingAlgorithm: SigningAlgorithm | undefined;
  readonly witnesses: WitnessOptions;
}

export function planSigning(flags: Flags): SigningPlan {
  const keyRef = flags.string('key');
  const tlogUpload = flags.bool('tlog-upload');
  if (keyRef === undefined) {
    if (!tlogUpload) {
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
    throw new AirlockError('E_UNSUPPORTED', 'keyless signing (Fulcio + OIDC) is not built yet', {
      hint: 'sign with an organisational key: --key REF (a key file, env://VAR or a pkcs11: URI)',
    });
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
  const algorithm = flags.string('signing-algorithm');
  if (algorithm !== undefined && !isSigningAlgorithm(algorithm)) {
    throw new AirlockError('E_USAGE', `unknown --signing-algorithm '${algorithm}'`);
  }
  const tsa = flags.string('tsa-url');
  return {
    keyRef,
    signingAlgorithm: algorithm,
    witnesses: {
      ...(tlogUpload
        ? {
            tlog: {
              url: httpUrl(rekorURL ?? PUBLIC_GOOD_REKOR_URL, '--rekor-url'),
              apiVersion: Number(apiVersion) as 1 | 2,
            },
          }
        : {}),
      ...(tsa !== undefined ? { tsaUrl: httpUrl(tsa, '--tsa-url') } : {}),
    },
  };
}
