// Identity pinning for keyless bundles. @sigstore/verify matches the SAN as an unanchored regular
// expression (a policy "airgap" accepts "builder@airgap.example"); airlock compares exactly, or with
// a regular expression that must match the whole value, as cosign's flags promise.
import type { KeyObject } from 'node:crypto';
import { AirlockError } from '../../errors.ts';

export type Matcher = { readonly exact: string } | { readonly regexp: string };

export interface IdentityPolicy {
  readonly identity: Matcher;
  readonly issuer: Matcher;
}

export function describeMatcher(m: Matcher): string {
  return 'exact' in m ? JSON.stringify(m.exact) : `/^(?:${m.regexp})$/`;
}

/** Compiles a user regexp anchored at both ends; a bad pattern is a usage error. */
export function anchored(pattern: string, flag: string): RegExp {
  try {
    // Compiled alone first: a pattern like `a)|(?:b` is invalid by itself, but wrapped it would become
    // `^(?:a)|(?:b)$`, an alternation anchored only at one end each, matching far more than meant.
    new RegExp(pattern, 'u');
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch (err) {
    throw new AirlockError('E_USAGE', `${flag}: invalid regular expression: ${(err as Error).message}`);
  }
}

export function matches(m: Matcher, value: string | undefined): boolean {
  if (value === undefined) return false;
  return 'exact' in m ? m.exact === value : anchored(m.regexp, 'pattern').test(value);
}

export function checkIdentity(policy: IdentityPolicy, san: string | undefined, issuer: string | undefined): void {
  if (!matches(policy.identity, san)) {
    throw new AirlockError(
      'E_IDENTITY_MISMATCH',
      `certificate identity ${JSON.stringify(san ?? null)} does not match ${describeMatcher(policy.identity)}`,
      {
        details: { expected: describeMatcher(policy.identity), found: san ?? null },
      },
    );
  }
  if (!matches(policy.issuer, issuer)) {
    throw new AirlockError(
      'E_IDENTITY_MISMATCH',
      `OIDC issuer ${JSON.stringify(issuer ?? null)} does not match ${describeMatcher(policy.issuer)}`,
      {
        details: { expected: describeMatcher(policy.issuer), found: issuer ?? null },
      },
    );
  }
}

/** Who must have signed: a key, or a keyless identity pinned with its OIDC issuer. */
export type TrustPolicy =
  | { readonly kind: 'key'; readonly publicKey: KeyObject }
  | { readonly kind: 'identity'; readonly policy: IdentityPolicy };
