// A detached signature (cosign's `--output-signature` / `verify-blob --signature`: the signature alone,
// no bundle) as the message-signature bundle it stands for, so it is checked by the same steps as any
// bundle. It carries no key hint, log entry or timestamp: only a key can be trusted for it, and the
// thresholds say whether that is enough.
import { type Bundle, toMessageSignatureBundle } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import type { Digest, DigestAlgorithm } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import { defaultHashFor } from './signature-content.ts';
import type { TrustPolicy } from './identity.ts';

const BUNDLE_HASH: Readonly<Record<DigestAlgorithm, HashAlgorithm>> = {
  sha256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
  sha512: HashAlgorithm.SHA2_512,
};

/** The digest the key's signature is made over (SHA-384 for P-384, else SHA-256, as sign-blob writes). */
export function detachedDigestAlgorithm(trust: TrustPolicy): DigestAlgorithm {
  if (trust.kind !== 'key') {
    throw new AirlockError(
      'E_USAGE',
      'a detached signature is verified with --key only: keyless signatures need their ' +
        'certificate and log entry, which only a bundle carries',
      {
        hint: 'verify keyless signatures with --bundle',
      },
    );
  }
  return defaultHashFor(trust.publicKey) === 'sha384' ? 'sha384' : 'sha256';
}

/** The bundle a detached signature over an artifact with digest `digest` stands for. */
export function detachedBundle(signature: Uint8Array, digest: Digest | undefined, algorithm: DigestAlgorithm): Bundle {
  if (!digest) {
    throw new AirlockError(
      'E_USAGE',
      `this key signs a ${algorithm} digest: give the artifact, or its ${algorithm}:<hex> digest`,
    );
  }
  const bundle = toMessageSignatureBundle({
    digest: Buffer.from(digest.hex, 'hex'),
    signature: Buffer.from(signature),
  });
  if (bundle.content.messageSignature.messageDigest)
    bundle.content.messageSignature.messageDigest.algorithm = BUNDLE_HASH[digest.algorithm];
  return bundle;
}
