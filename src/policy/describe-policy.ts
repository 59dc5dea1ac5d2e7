// A policy in words, for `airlock policy check`: what each entry lets in, who must have signed, what
// must be attested, and what happens when it is not met — so a reviewer reads the meaning, not YAML.
import type { Matcher } from '../sigstore/verify/identity.ts';
import type { Authority, ImagePolicy, PolicyEntry } from './image-policy.ts';
import { describeScope } from './namespace-scope.ts';

function matcherText(m: Matcher): string {
  return 'exact' in m ? `"${m.exact}"` : `matching /${m.regexp}/`;
}

function authorityText(a: Authority): string {
  if ('key' in a) return `the key ${a.key}`;
  const root = a.trust ? `, certificate chained to the installed trust root "${a.trust}"` : '';
  return `a keyless signature by ${matcherText(a.identity)} from issuer ${matcherText(a.issuer)}${root}`;
}

function entryLines(e: PolicyEntry, index: number): string[] {
  const lines = [`images[${index}]: images named ${e.glob}`];
  lines.push(`  must be signed by ${e.authorities.map(authorityText).join(', or ')}`);
  for (const type of e.attestations) {
    const condition = e.conditions.find((c) => c.predicateType === type);
    const limit = condition?.maxSeverity
      ? `, every finding at most ${condition.maxSeverity} (unknown severities fail)`
      : '';
    lines.push(`  must carry a verified attestation of type ${type}${limit}`);
  }
  if (e.requireLogInclusion) {
    const witnesses = e.requireLogInclusion.witnessPolicy
      ? `, its checkpoint cosigned as ${e.requireLogInclusion.witnessPolicy} requires`
      : '';
    lines.push(`  its signature must be included in the on-prem log of ${e.requireLogInclusion.logKey}${witnesses}`);
  }
  lines.push(
    e.mode === 'enforce'
      ? '  at admission: not met, or not checkable, is a denial (enforce)'
      : '  at admission: not met, or not checkable, is admitted with a warning (warn)',
  );
  lines.push(`  at admission: applies in ${describeScope(e.namespaces)}`);
  lines.push(e.pinDigest ? '  /mutate pins it to the digest verified' : '  /mutate leaves its reference as written');
  return lines;
}

export function describePolicy(policy: ImagePolicy): string[] {
  return [
    `default mode: ${policy.mode}; at admission, images no entry matches are ` +
      (policy.mode === 'enforce' ? 'denied' : 'admitted with a warning') +
      '; at import, always refused',
    ...policy.entries.flatMap(entryLines),
  ];
}
