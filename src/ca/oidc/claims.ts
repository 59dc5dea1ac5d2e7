// Reading claims of a verified token. A signature says who wrote a claim, not that it is sane: every
// value that goes into a certificate is a string of bounded length, well-formed Unicode (the DER
// UTF8String of 1.8 onwards cannot carry half a surrogate pair) and free of control characters (a SAN
// or an extension value that forges a line in `openssl x509 -text` or in a log).
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';

/** Longest claim value put into a certificate; real ones (refs, URLs, addresses) are far shorter. */
const MAX_CLAIM_CHARS = 4096;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export type Claims = Readonly<Record<string, unknown>>;

/** The one error of token verification: a reason the user can act on, never the token itself. */
export function tokenRefused(reason: string): AirlockError {
  return new AirlockError('E_OIDC_TOKEN', `identity token refused: ${reason}`);
}

/** A claim's value at a path of names (`kubernetes.io` → `namespace`), undefined where any step is absent. */
function claimAt(claims: Claims, path: readonly string[]): unknown {
  let value: unknown = claims;
  for (const name of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

/** A string claim, checked; undefined when absent. */
export function optionalStringClaim(claims: Claims, ...path: string[]): string | undefined {
  const value = claimAt(claims, path);
  const name = path.join('.');
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw tokenRefused(`claim "${bounded(name)}" is not a string`);
  if (value.length > MAX_CLAIM_CHARS)
    throw tokenRefused(`claim "${bounded(name)}" is ${value.length} characters; at most ${MAX_CLAIM_CHARS}`);
  if (!value.isWellFormed()) throw tokenRefused(`claim "${bounded(name)}" is not well-formed Unicode`);
  if (CONTROL.test(value)) throw tokenRefused(`claim "${bounded(name)}" holds a control character`);
  return value;
}

/** A string claim that must be present and not empty, for the issuer type `forType`. */
export function requiredStringClaim(claims: Claims, forType: string, ...path: string[]): string {
  const value = optionalStringClaim(claims, ...path);
  if (value === undefined || value === '')
    throw tokenRefused(`the token has no "${bounded(path.join('.'))}" claim, which a ${forType} issuer's tokens need`);
  return value;
}

const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LOCAL_PART = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`);
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * An address an rfc822Name SAN can carry (an IA5String, so ASCII only): a dot-atom local part and a DNS
 * domain of two labels or more. Stricter than Fulcio's govalidator `IsEmail`, which also takes quoted
 * local parts with control characters and non-ASCII letters that a certificate cannot hold as they are.
 */
export function isEmailAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at < 1 || value.length > 254) return false;
  const [local, domain] = [value.slice(0, at), value.slice(at + 1)];
  const labels = domain.split('.');
  return local.length <= 64 && LOCAL_PART.test(local) && labels.length >= 2 && labels.every((l) => DNS_LABEL.test(l));
}
