// Fulcio's certificate extensions for a principal, in the order its `Extensions.Render` writes them
// (pkg/certificate/extensions.go): 1.1 raw, the deprecated GitHub 1.2–1.6 raw, 1.8 DER, 1.9–1.23 DER,
// 1.24 DER; a value left empty is left out. 1.1 and 1.8 carry the same issuer, because cosign reads only
// 1.1 and sigstore-js prefers 1.8 (note §6, pitfall 5).
import { type FulcioExtension, SIGSTORE_OID_ARC } from '../identity.ts';

/** The last arc of a Sigstore OID (`9` for 1.3.6.1.4.1.57264.1.9) with the value it carries. */
export type ArcValue = readonly [arc: number, value: string];

export interface ExtensionValues {
  readonly issuer: string;
  /** The token's `sub`, for 1.24; empty when the token has none. */
  readonly subject: string;
  /** 1.2–1.6, the deprecated raw GitHub extensions. */
  readonly raw?: readonly ArcValue[];
  /** 1.9–1.23, the DER build-signer extensions. */
  readonly der?: readonly ArcValue[];
}

function extension(encoding: FulcioExtension['encoding']) {
  return ([arc, value]: ArcValue): FulcioExtension => ({ oid: `${SIGSTORE_OID_ARC}.${arc}`, encoding, value });
}

export function renderExtensions(values: ExtensionValues): FulcioExtension[] {
  const raw: ArcValue[] = [[1, values.issuer], ...(values.raw ?? [])];
  const der: ArcValue[] = [[8, values.issuer], ...(values.der ?? []), [24, values.subject]];
  return [...raw.map(extension('raw')), ...der.map(extension('der-utf8'))].filter((e) => e.value !== '');
}
