// A verified token's claims mapped to what the certificate says, per issuer type, as Fulcio maps them
// (pkg/identity/{email,uri,kubernetes,github}/principal.go; note §3–4). The challenge is what the
// client's proof of possession signs: `email` for email issuers, the raw `sub` for the others.
import { bounded } from '../../text.ts';
import type { Principal, SubjectAltName } from '../identity.ts';
import { type Claims, isEmailAddress, optionalStringClaim, requiredStringClaim, tokenRefused } from './claims.ts';
import { renderExtensions } from './extensions.ts';
import { githubWorkflowPrincipal } from './github-principal.ts';
import type { OidcIssuerSpec } from './issuer-spec.ts';

export function principalFromClaims(issuer: OidcIssuerSpec, claims: Claims): Principal {
  switch (issuer.type) {
    case 'email':
      return emailPrincipal(issuer, claims);
    case 'uri':
      return uriPrincipal(issuer, claims);
    case 'kubernetes':
      return kubernetesPrincipal(issuer, claims);
    case 'github-workflow':
      return githubWorkflowPrincipal(issuer, claims);
  }
}

/** A principal whose only extensions are the issuer (1.1, 1.8) and the subject (1.24). */
function principal(issuer: OidcIssuerSpec, subject: string, challenge: string, san: SubjectAltName): Principal {
  return { issuer: issuer.url, subject, challenge, san, extensions: renderExtensions({ issuer: issuer.url, subject }) };
}

/** Fulcio's `stringAsBool`: the boolean true, or the strings "true" and "True" some IdPs send. */
function emailVerified(value: unknown): boolean {
  return value === true || value === 'true' || value === 'True';
}

function emailPrincipal(issuer: OidcIssuerSpec, claims: Claims): Principal {
  const email = requiredStringClaim(claims, 'email', 'email');
  if (!emailVerified(claims.email_verified))
    throw tokenRefused(`the email address is not verified by the issuer ("email_verified" is not true)`);
  if (!isEmailAddress(email)) throw tokenRefused(`claim "email" "${bounded(email)}" is not an email address`);
  const subject = optionalStringClaim(claims, 'sub') ?? '';
  return principal(issuer, subject, email, { kind: 'email', value: email });
}

/** A URI SAN is an IA5String: printable ASCII, no spaces. */
const URI_CHARS = /^[\x21-\x7e]+$/;

function uriPrincipal(issuer: OidcIssuerSpec, claims: Claims): Principal {
  const subject = requiredStringClaim(claims, 'uri', 'sub');
  if (issuer.subjectDomain === undefined)
    throw tokenRefused(`the uri issuer ${bounded(issuer.url)} has no subject-domain`);
  const domain = issuer.subjectDomain.replace(/\/$/, '');
  if (isEmailAddress(subject)) throw tokenRefused('"sub" is an email address; a uri issuer needs a URI subject');
  if (!URI_CHARS.test(subject) || !sameOrigin(subject, domain))
    throw tokenRefused(`"sub" "${bounded(subject)}" is not a URI under ${bounded(domain)}`);
  return principal(issuer, subject, subject, { kind: 'uri', value: subject });
}

/**
 * Fulcio compares the parsed scheme and host with the subject domain's. Both the text and the parsed
 * URL are checked here: the text so that `https://EXAMPLE.com` is not taken for `https://example.com`
 * (Go does not fold case), the parse so that `https://example.com:x@evil.test` is not either.
 */
function sameOrigin(subject: string, domain: string): boolean {
  if (!subject.startsWith(domain) || !/^(?:$|[/?#:])/.test(subject.slice(domain.length))) return false;
  let parsed: URL;
  try {
    parsed = new URL(subject);
  } catch {
    return false;
  }
  const expected = new URL(domain);
  return (
    parsed.protocol === expected.protocol &&
    parsed.hostname === expected.hostname &&
    parsed.username === '' &&
    parsed.password === ''
  );
}

/** Kubernetes object names (RFC 1123): a namespace is a DNS label, a service account a DNS subdomain. */
const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SUBDOMAIN = 253;

/**
 * Fulcio builds the SAN from the `kubernetes.io` claims without requiring them, so a token without them
 * gets `…/namespaces//serviceaccounts/` (pitfall 10). Here both must be present and be names Kubernetes
 * itself would accept, which also keeps `/`, `..` and anything a URI would escape out of the SAN.
 */
function kubernetesPrincipal(issuer: OidcIssuerSpec, claims: Claims): Principal {
  const subject = requiredStringClaim(claims, 'kubernetes', 'sub');
  const namespace = requiredStringClaim(claims, 'kubernetes', 'kubernetes.io', 'namespace');
  const account = requiredStringClaim(claims, 'kubernetes', 'kubernetes.io', 'serviceaccount', 'name');
  if (!DNS1123_LABEL.test(namespace))
    throw tokenRefused(`"kubernetes.io.namespace" "${bounded(namespace)}" is not a Kubernetes namespace name`);
  if (account.length > MAX_SUBDOMAIN || !DNS1123_SUBDOMAIN.test(account))
    throw tokenRefused(`"kubernetes.io.serviceaccount.name" "${bounded(account)}" is not a service account name`);
  return principal(issuer, subject, subject, {
    kind: 'uri',
    value: `https://kubernetes.io/namespaces/${namespace}/serviceaccounts/${account}`,
  });
}
