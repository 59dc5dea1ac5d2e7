// Flag groups shared by commands (cosign's options structs), so every command spells a concern the
// same way and maps it with the same tested function.
import type { FlagSpecs } from './args.ts';

export const KEY_FLAGS = {
  key: { type: 'string', value: 'REF', description: 'Signing key: file path, env://VAR, or pkcs11: URI' },
  'password-file': { type: 'string', value: 'FILE', description: 'Read the key password from FILE (first line)' },
} as const satisfies FlagSpecs;

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

export const OUTPUT_FLAGS = {
  bundle: { type: 'string', value: 'FILE', description: 'Write the Sigstore bundle to FILE' },
  'output-signature': { type: 'string', value: 'FILE', description: 'Also write the raw base64 signature to FILE' },
  force: { type: 'boolean', description: 'Overwrite output files that exist' },
} as const satisfies FlagSpecs;

/** A witness's identity and memory: the same in `log witness` (pull) and `log witness-serve` (push). */
export const WITNESS_FLAGS = {
  state: {
    type: 'string',
    value: 'FILE',
    description: 'The witness state (JSON): last cosigned size and root per origin',
  },
  init: { type: 'boolean', description: 'Create --state if it does not exist (first run only)' },
  key: { ...KEY_FLAGS.key, description: 'The witness signing key (Ed25519): file path, env://VAR, or pkcs11: URI' },
  'password-file': KEY_FLAGS['password-file'],
  name: {
    type: 'string',
    value: 'NAME',
    description: 'The witness name in cosignature lines (a key name: no spaces or +)',
  },
} as const satisfies FlagSpecs;
