// RFC 9110 syntax both HTTP readers need: node:http's replacement for large blobs (bulk-get.ts) and
// the WWW-Authenticate parser (auth.ts). A module of its own: http.ts and bulk-get.ts import each other.

/** RFC 9110 §5.6.2 tchar: what a header name (or an auth-param name) is made of. */
export const TOKEN_CHARS = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
