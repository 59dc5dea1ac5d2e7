// Reading the HTTP headers the stack and its users act on.

/** Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3); `now` in epoch milliseconds. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The `rel="next"` target of a Link header (RFC 8288), as tag lists and referrers paginate. */
export function nextLink(header: string | readonly string[] | undefined): string | undefined {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  for (const value of values) {
    for (const m of value.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
      if (/;\s*rel\s*=\s*"?(?:[^"]*\s)?next(?:\s[^"]*)?"?\s*(?:;|$)/i.test(m[2] ?? '')) return m[1];
    }
  }
  return undefined;
}

/** The media type of a Content-Type header, without parameters. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type || undefined;
}
