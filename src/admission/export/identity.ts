// Authorities for the export targets: a key authority's PEM, a keyless authority's trust root, and
// airlock's whole-value regular expressions in Go's RE2, which both targets match with.
import { AirlockError } from '../../errors.ts';
import type { Authority, PolicyEntry } from '../../policy/image-policy.ts';
import { entryLabel, type ExportInput, type ExportTrustRoot, trustRootFor } from './common.ts';

/** The PEM of a key authority, as the caller read it relative to the policy file. */
export function keyPem(input: ExportInput, key: string): string {
  const pem = input.keys.get(key);
  if (pem === undefined) throw new AirlockError('E_INTERNAL', `key ${key} of the policy was not read`);
  return pem;
}

/** The trust root a keyless authority verifies against: one must be given. */
export function keylessTrust(input: ExportInput, a: Authority): ExportTrustRoot {
  const trust = trustRootFor(input, a);
  if (!trust)
    throw new AirlockError('E_USAGE', 'the policy has keyless authorities, and no trust root was given', {
      hint: 'add --trust NAME (an installed root) or --trusted-root FILE: its CAs and logs go into the export',
    });
  return trust;
}

/** airlock matches a regexp against the whole value; Go's (cosign's) MatchString finds it anywhere. */
export function goRegexp(pattern: string): string {
  return `^(?:${pattern})$`;
}

/** JavaScript regexp syntax RE2 lacks: lookaround, backreferences, named backreferences. */
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k</;

/** Identity regexps a Go verifier cannot compile as written. */
export function regexpUnexpressed(input: ExportInput): string[] {
  const out: string[] = [];
  input.policy.entries.forEach((entry: PolicyEntry, i) => {
    entry.authorities.forEach((a, j) => {
      if ('key' in a) return;
      for (const m of [a.identity, a.issuer])
        if ('regexp' in m && NOT_RE2.test(m.regexp))
          out.push(
            `${entryLabel(entry, i)}: authorities[${j}] regexp ${m.regexp} uses JavaScript syntax Go's RE2 ` +
              'lacks (lookaround or a backreference); the target refuses it',
          );
    });
  });
  return out;
}
