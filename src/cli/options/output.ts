// The output group of sign-blob and attest-blob: where the bundle and the raw signature go, and whether
// files that exist may be replaced. Checked before any key is opened: a signature with nowhere to go
// is never made.
import { AirlockError } from '../../errors.ts';
import type { Flags, FlagSpecs } from '../args.ts';

export const OUTPUT_FLAGS = {
  bundle: { type: 'string', value: 'FILE', description: 'Write the Sigstore bundle to FILE' },
  'output-signature': { type: 'string', value: 'FILE', description: 'Also write the raw base64 signature to FILE' },
  force: { type: 'boolean', description: 'Overwrite output files that exist' },
} as const satisfies FlagSpecs;

export interface SignatureOutputs {
  readonly bundle?: string;
  /** The raw signature, base64. */
  readonly signature?: string;
  readonly overwrite: boolean;
}

export function signatureOutputs(flags: Flags): SignatureOutputs {
  const bundle = flags.string('bundle');
  const signature = flags.string('output-signature');
  if (!bundle && !signature) {
    throw new AirlockError(
      'E_USAGE',
      'nowhere to write the result: pass --bundle FILE (and/or --output-signature FILE)',
    );
  }
  return { ...(bundle ? { bundle } : {}), ...(signature ? { signature } : {}), overwrite: flags.bool('force') };
}
