// What a signature is witnessed by after signing: a transparency log (Rekor v1 or v2 API) and/or an
// RFC 3161 timestamp authority. Failures here are "could not evaluate" (exit 3) and say how to sign
// offline instead, because in an air gap the usual cause is simply that the service is out of reach.
import type { RFC3161SignedTimestamp, TransparencyLogEntry } from '@sigstore/bundle';
import type { SignatureBundle } from '@sigstore/sign';
import { AirlockError } from '../errors.ts';

export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';

export interface WitnessOptions {
  /** Upload to this transparency log; undefined = --tlog-upload=false. */
  readonly tlog?: { readonly url: string; readonly apiVersion: 1 | 2 };
  readonly tsaUrl?: string;
  readonly fetch?: typeof fetch;
}

export interface WitnessMaterial {
  tlogEntries: TransparencyLogEntry[];
  rfc3161Timestamps: RFC3161SignedTimestamp[];
}

export async function witnessSignature(
  content: SignatureBundle,
  signature: Uint8Array,
  publicKeyPem: string,
  options: WitnessOptions,
): Promise<WitnessMaterial> {
  const material: WitnessMaterial = { tlogEntries: [], rfc3161Timestamps: [] };
  if (options.tsaUrl) {
    // Loaded on demand: offline signing (the common case here) never needs the HTTP clients.
    const { requestTimestamp } = await import('./tsa.ts');
    const signedTimestamp = await requestTimestamp(signature, { url: options.tsaUrl, fetch: options.fetch });
    material.rfc3161Timestamps.push({ signedTimestamp: Buffer.from(signedTimestamp) });
  }
  if (options.tlog) {
    const { url, apiVersion } = options.tlog;
    const { RekorWitness } = await import('@sigstore/sign');
    const witness = new RekorWitness({
      rekorBaseURL: url,
      majorApiVersion: apiVersion,
      fetchOnConflict: true,
      retry: { retries: 1, minTimeout: 500, maxTimeout: 2000 },
      timeout: 20_000,
    });
    try {
      material.tlogEntries.push(...(await witness.testify(content, publicKeyPem)).tlogEntries);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const reason = [err, cause]
        .filter((e): e is Error => e instanceof Error)
        .map((e) => e.message)
        .join(': ');
      throw new AirlockError('E_TLOG_UPLOAD', `could not upload the signature to the transparency log ${url}: ${reason}`, {
        cause: err,
        hint: 'offline? sign with --tlog-upload=false (verify later with --insecure-ignore-tlog or a timestamp), or point --rekor-url at your on-prem log',
      });
    }
  }
  return material;
}
