// One `--oidc-issuer URL=JWKS_FILE[,type=…][,audience=…][,subject-domain=…]` flag, parsed. Tokens are
// verified offline, so the URL is only a name: it is compared with the token's `iss` byte for byte, as
// go-oidc compares it, with no trailing-slash or case normalisation (`https://idp.example` and
// `https://idp.example/` are two issuers; write the URL exactly as the tokens carry it). The type
// defaults to `email`, Fulcio's most common issuer type and the one whose challenge (`email`) is what
// clients sign whenever a token carries an email; the audience defaults to `sigstore`, as Fulcio's
// public issuers and every Sigstore client use.
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import { ISSUER_TYPES, type IssuerType } from '../identity.ts';

export interface OidcIssuerSpec {
  /** The issuer URL, exactly as the tokens' `iss`. */
  readonly url: string;
  readonly jwksPath: string;
  readonly type: IssuerType;
  readonly audience: string;
  /** `uri` issuers only: the scheme and host every token's `sub` must have. */
  readonly subjectDomain?: string;
}

const FLAG = '--oidc-issuer';
const SHAPE = `${FLAG} URL=JWKS_FILE[,type=${ISSUER_TYPES.join('|')}][,audience=AUD][,subject-domain=URL]`;
const OPTION_KEYS = ['type', 'audience', 'subject-domain'] as const;
type OptionKey = (typeof OPTION_KEYS)[number];
const MAX_FIELD = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function usage(spec: string, reason: string): AirlockError {
  return new AirlockError('E_USAGE', `${FLAG} ${bounded(spec)}: ${reason}`, { hint: `the shape is ${SHAPE}` });
}

/** Parses one `--oidc-issuer` value; E_USAGE naming the flag on every mistake. */
export function parseOidcIssuerSpec(spec: string): OidcIssuerSpec {
  const eq = spec.indexOf('=');
  if (eq < 0) throw usage(spec, 'expected URL=JWKS_FILE');
  const url = issuerUrl(spec, spec.slice(0, eq));
  const [jwksPath = '', ...rest] = spec.slice(eq + 1).split(',');
  if (jwksPath === '') throw usage(spec, 'the JWKS file is missing after "="');
  checkField(spec, 'the JWKS file', jwksPath);
  const options = parseOptions(spec, rest);
  const type = issuerType(spec, options.get('type'));
  const audience = options.get('audience') ?? 'sigstore';
  const subjectDomain = options.get('subject-domain');
  if (type === 'uri' && subjectDomain === undefined)
    throw usage(spec, 'type=uri needs subject-domain=URL (the scheme and host of the subjects it may issue)');
  if (type !== 'uri' && subjectDomain !== undefined) throw usage(spec, 'subject-domain applies only to type=uri');
  if (subjectDomain !== undefined) checkSubjectDomain(spec, subjectDomain, url);
  return { url, jwksPath, type, audience, ...(subjectDomain === undefined ? {} : { subjectDomain }) };
}

function checkField(spec: string, what: string, value: string): void {
  if (value.length > MAX_FIELD) throw usage(spec, `${what} is longer than ${MAX_FIELD} characters`);
  if (CONTROL.test(value)) throw usage(spec, `${what} holds a control character`);
}

function parseOptions(spec: string, parts: readonly string[]): Map<OptionKey, string> {
  const options = new Map<OptionKey, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (!(OPTION_KEYS as readonly string[]).includes(key))
      throw usage(
        spec,
        `unknown option "${bounded(key)}" (known: ${OPTION_KEYS.join(', ')}; a JWKS path cannot hold ",")`,
      );
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (value === '') throw usage(spec, `${key} has no value`);
    if (options.has(key as OptionKey)) throw usage(spec, `${key} is given twice`);
    checkField(spec, key, value);
    options.set(key as OptionKey, value);
  }
  return options;
}

function issuerType(spec: string, value: string | undefined): IssuerType {
  if (value === undefined) return 'email';
  if ((ISSUER_TYPES as readonly string[]).includes(value)) return value as IssuerType;
  throw usage(spec, `type "${bounded(value)}" is not one of ${ISSUER_TYPES.join(', ')}`);
}

/** An http(s) URL with a host, and no user, query or fragment: OIDC issuer identifiers have none. */
function httpUrl(spec: string, what: string, value: string): URL {
  checkField(spec, what, value);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw usage(spec, `${what} "${bounded(value)}" is not a URL`);
  }
  if (!/^https?:\/\/[^/?#]/.test(value) || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:'))
    throw usage(spec, `${what} "${bounded(value)}" must start with https:// or http://`);
  if (parsed.username !== '' || parsed.password !== '' || /[?#]/.test(value))
    throw usage(spec, `${what} "${bounded(value)}" must not hold a user, a query or a fragment`);
  return parsed;
}

function issuerUrl(spec: string, value: string): string {
  if (value === '') throw usage(spec, 'the issuer URL is missing before "="');
  httpUrl(spec, 'the issuer URL', value);
  return value;
}

/**
 * As Fulcio's config validation (`isURISubjectAllowed`): a subject domain is a scheme and a host, with
 * the issuer's scheme, and the issuer's host or one sharing its last two DNS labels, so an issuer cannot
 * be configured to vouch for names in a domain it does not belong to.
 */
function checkSubjectDomain(spec: string, value: string, issuer: string): void {
  const domain = httpUrl(spec, 'subject-domain', value);
  if (!/^https?:\/\/[^/:@]+\/?$/.test(value))
    throw usage(spec, `subject-domain "${bounded(value)}" must be a scheme and a host only, e.g. https://example.com`);
  const iss = new URL(issuer);
  if (domain.protocol !== iss.protocol) throw usage(spec, 'subject-domain and the issuer URL must share their scheme');
  if (domain.hostname === iss.hostname) return;
  const [d, i] = [domain.hostname.split('.'), iss.hostname.split('.')];
  if (d.length < 2 || i.length < 2 || d.slice(-2).join('.') !== i.slice(-2).join('.'))
    throw usage(
      spec,
      `subject-domain ${bounded(domain.hostname)} is not in the issuer's domain ${bounded(iss.hostname)}`,
    );
}
