// URL flags and arguments that name an HTTP service (a transparency log, a TSA): checked once, here,
// and returned without trailing slashes so paths can be appended.
import { AirlockError } from '../errors.ts';

export interface HttpUrlOptions {
  /** Also refuse a query or fragment: the URL is a prefix paths are appended to. */
  readonly prefix?: boolean;
  readonly hint?: string;
}

export function httpUrl(value: string, what: string, options: HttpUrlOptions = {}): string {
  const url = URL.parse(value);
  const hint = options.hint ? { hint: options.hint } : {};
  if (!url) throw new AirlockError('E_USAGE', `${what} is not a URL: '${value}'`, hint);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new AirlockError('E_USAGE', `${what} must be an http(s) URL, got '${value}'`, hint);
  if (options.prefix && (url.search || url.hash))
    throw new AirlockError(
      'E_USAGE',
      `${what} must be the http(s) prefix the service's paths are served under (no ?query or ` +
        `#fragment), got '${value}'`,
      hint,
    );
  return value.replace(/\/+$/, '');
}
