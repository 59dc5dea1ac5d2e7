// What a signature is witnessed by after signing: a transparency log (Rekor v1 or v2 API) and/or an
// RFC 3161 timestamp authority. Failures here are "could not evaluate" (exit 3) and say how to sign
// offline instead, because in an air gap the usual cause is simply that the service is out of reach.
import { type KeyObject, X509Certificate } from 'node:crypto';
import type { RFC3161SignedTimestamp, TransparencyLogEntry } from '@sigstore/bundle';
import type { SignatureBundle } from '@sigstore/sign';
import { AirlockError, isAirlockError } from '../errors.ts';
import { failureReason, SERVICE_TIMEOUT_MS } from '../net/http/exchange.ts';
import type { HttpTransport } from '../net/http/transport.ts';

export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';

export interface WitnessOptions {
  /** Upload to this transparency log; undefined = --tlog-upload=false. */
  readonly tlog?: { readonly url: string; readonly apiVersion: 1 | 2 };
  readonly tsaUrl?: string;
  /** For the TSA and Rekor v2 clients; defaults to the transport services share. */
  readonly transport?: HttpTransport;
}

export interface WitnessMaterial {
  tlogEntries: TransparencyLogEntry[];
  rfc3161Timestamps: RFC3161SignedTimestamp[];
}

/** `verifier` is the signer's key, or keyless its certificate, which the log then records. */
export async function witnessSignature(
  content: SignatureBundle,
  signature: Uint8Array,
  verifier: KeyObject | X509Certificate,
  options: WitnessOptions,
): Promise<WitnessMaterial> {
  const material: WitnessMaterial = { tlogEntries: [], rfc3161Timestamps: [] };
  if (options.tsaUrl) {
    // Loaded on demand: offline signing (the common case here) never needs the HTTP clients.
    const { requestTimestamp } = await import('./tsa.ts');
    const signedTimestamp = await requestTimestamp(signature, {
      url: options.tsaUrl,
      ...(options.transport ? { transport: options.transport } : {}),
    });
    material.rfc3161Timestamps.push({ signedTimestamp: Buffer.from(signedTimestamp) });
  }
  if (options.tlog) {
    material.tlogEntries.push(...(await logSignature(content, verifier, options.tlog, options.transport)));
  }
  return material;
}

async function logSignature(
  content: SignatureBundle,
  verifier: KeyObject | X509Certificate,
  tlog: NonNullable<WitnessOptions['tlog']>,
  transport: HttpTransport | undefined,
): Promise<TransparencyLogEntry[]> {
  const { url, apiVersion } = tlog;
  try {
    if (apiVersion === 2) {
      // Not RekorWitness: its v2 requests are refused by current Rekor v2 logs (see rekor-v2-client.ts).
      const { createEntryRequestFor, uploadToRekorV2 } = await import('./rekor-v2-client.ts');
      const request = createEntryRequestFor(content, verifier);
      return [await uploadToRekorV2(url, request, transport ? { transport } : {})];
    }
    const { RekorWitness } = await import('@sigstore/sign');
    const witness = new RekorWitness({
      rekorBaseURL: url,
      majorApiVersion: apiVersion,
      fetchOnConflict: true,
      retry: { retries: 1, minTimeout: 500, maxTimeout: 2000 },
      timeout: SERVICE_TIMEOUT_MS,
    });
    // Rekor v1 takes a certificate's PEM where it takes a key's (hashedrekord/dsse publicKey).
    const pem =
      verifier instanceof X509Certificate
        ? verifier.toString()
        : verifier.export({ type: 'spki', format: 'pem' }).toString();
    return (await witness.testify(content, pem)).tlogEntries;
  } catch (err) {
    // A key the log cannot take is the signer's problem, not the log's: no "offline?" hint for it.
    if (isAirlockError(err) && (err.code !== 'E_TLOG_UPLOAD' || err.hint)) throw err;
    // The v2 client's own E_TLOG_UPLOAD already names the log and the reason; it only lacks the hint.
    const message = isAirlockError(err)
      ? err.message
      : `could not upload the signature to the transparency log ${url}: ${failureReason(err)}`;
    throw new AirlockError('E_TLOG_UPLOAD', message, {
      cause: isAirlockError(err) ? err.cause : err,
      hint:
        apiVersion === 1 && v1EndpointMissing(err)
          ? 'the log does not serve the Rekor v1 API: for a Rekor v2 log (airlock log serve is ' +
            'one) add --rekor-api-version 2'
          : 'offline? sign with --tlog-upload=false (verify later with --insecure-ignore-tlog or a ' +
            'timestamp), or point --rekor-url at your on-prem log',
    });
  }
}

/** @sigstore/sign's v1 client answered 404 or 405 by the log: its /api/v1/log/entries is not there. */
function v1EndpointMissing(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const status = (e as { statusCode?: unknown }).statusCode;
    if (status === 404 || status === 405) return true;
  }
  return false;
}
