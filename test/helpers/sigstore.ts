// Verifies bundles with plain @sigstore/verify (no airlock code on the path), the way the issue's
// acceptance asks: key-based trust material, thresholds chosen by the test.
import { createHash, type KeyObject } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

export const EMPTY_TRUSTED_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

export interface PlainVerifyOptions {
  tlogThreshold?: number;
  timestampThreshold?: number;
  trustedRoot?: unknown;
}

export function hintOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

/** Throws whatever @sigstore/verify throws; returns its Signer on success. */
export function verifyWithSigstoreJs(
  bundleJson: unknown,
  artifact: Buffer | undefined,
  key: KeyObject,
  options: PlainVerifyOptions = {},
) {
  const root = TrustedRoot.fromJSON(options.trustedRoot ?? EMPTY_TRUSTED_ROOT);
  const hint = hintOf(key);
  const material = toTrustMaterial(root, (h: string) => {
    if (h !== hint) throw new Error(`no key for hint ${h}`);
    return { publicKey: key, validFor: () => true };
  });
  const verifier = new Verifier(material, {
    tlogThreshold: options.tlogThreshold ?? 0,
    ctlogThreshold: 0,
    timestampThreshold: options.timestampThreshold ?? 0,
  });
  return verifier.verify(toSignedEntity(bundleFromJSON(bundleJson), artifact));
}
