// Fetching a running CA's chain for `trust create --fulcio url=…`: `GET {url}/api/v2/trustBundle`
// through the one HTTP stack, bounded and within a deadline. What comes back is only believed as far
// as the user compares it: trust create prints the root's fingerprint for that (a trust anchor fetched
// over the network is trust on first use).
import { AirlockError } from '../errors.ts';
import { exchange, failureReason, SERVICE_TIMEOUT_MS } from '../net/http/exchange.ts';
import type { HttpTransport } from '../net/http/transport.ts';
import { parseTrustBundle, type TrustBundle } from './fulcio-trust-bundle.ts';

/** A trust bundle is a few KiB of PEM; a bound keeps a hostile server from filling memory. */
const MAX_BUNDLE_BYTES = 256 * 1024;

export interface FetchTrustBundleOptions {
  /** Defaults to the transport services share (net/http/exchange.ts). */
  readonly transport?: HttpTransport;
  /** The whole exchange. Default SERVICE_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

/** The trust bundle URL of a CA whose API is served under `baseUrl`. */
export function trustBundleUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/v2/trustBundle`;
}

/** The CA's chains. E_UNAVAILABLE when it cannot be read, E_INPUT_MALFORMED when the answer is no trust bundle. */
export async function fetchTrustBundle(baseUrl: string, options: FetchTrustBundleOptions = {}): Promise<TrustBundle> {
  const url = trustBundleUrl(baseUrl);
  const unavailable = (reason: string, cause?: unknown) =>
    new AirlockError('E_UNAVAILABLE', `cannot read the CA's trust bundle ${url}: ${reason}`, {
      hint: 'check that url= is the base URL of the CA (airlock ca serve, or Fulcio) and that it is reachable',
      ...(cause === undefined ? {} : { cause }),
    });
  let answer;
  try {
    answer = await exchange(
      // A redirect would fetch a trust anchor from a server the user never named.
      { method: 'GET', url: new URL(url), headers: { accept: 'application/json' }, redirects: 'none' },
      { maxBytes: MAX_BUNDLE_BYTES, deadlineMs: options.timeoutMs ?? SERVICE_TIMEOUT_MS },
      options.transport,
    );
  } catch (err) {
    throw unavailable(failureReason(err), err);
  }
  if (answer.status !== 200) throw unavailable(`HTTP ${answer.status} ${answer.statusText}`.trimEnd());
  return parseTrustBundle(answer.body, url);
}
