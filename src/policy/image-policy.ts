// The image policy `import` applies (and admission will): which keys or keyless identities must have
// signed which images, and which attestations must be present — data, decided by a pure function, in
// the spirit of policy-controller's ClusterImagePolicy:
//   { "apiVersion": "airlock/v1", "kind": "ImagePolicy",
//     "images": [ { "glob": "registry.corp/team/**",
//                   "authorities": [ { "key": "keys/team.pub" },
//                                    { "identity": { "exact": "..." }, "issuer": { "exact": "..." } } ],
//                   "attestations": ["https://spdx.dev/Document"] } ] }
// Every entry whose glob matches an image applies; each needs one authority that verifies a signature
// and, for each required attestation type, one authority that verifies such an attestation. An image
// no entry matches is denied: a policy lists what may come in.
import { AirlockError } from '../errors.ts';
import { resolvePredicateType } from '../sigstore/in-toto.ts';
import { anchored, type Matcher } from '../sigstore/verify/identity.ts';

export type Authority = { readonly key: string } | { readonly identity: Matcher; readonly issuer: Matcher };

export interface PolicyEntry {
  readonly glob: string;
  readonly authorities: readonly Authority[];
  readonly attestations: readonly string[];
}

export interface ImagePolicy {
  readonly entries: readonly PolicyEntry[];
}

function matcher(value: unknown, where: string): Matcher {
  const m = value as { exact?: unknown; regexp?: unknown };
  if (typeof m?.exact === 'string') return { exact: m.exact };
  if (typeof m?.regexp === 'string') {
    anchored(m.regexp, where);
    return { regexp: m.regexp };
  }
  throw new AirlockError('E_INPUT_MALFORMED', `${where}: needs {"exact": "..."} or {"regexp": "..."}`);
}

export function parseImagePolicy(doc: unknown, source: string): ImagePolicy {
  const d = doc as { apiVersion?: unknown; kind?: unknown; images?: unknown };
  if (d?.apiVersion !== 'airlock/v1' || d.kind !== 'ImagePolicy' || !Array.isArray(d.images) || d.images.length === 0) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${source}: not an airlock/v1 ImagePolicy with at least one images[] entry`,
    );
  }
  const entries = d.images.map((raw, i): PolicyEntry => {
    const e = raw as { glob?: unknown; authorities?: unknown; attestations?: unknown };
    const where = `${source}: images[${i}]`;
    if (typeof e?.glob !== 'string' || !e.glob)
      throw new AirlockError('E_INPUT_MALFORMED', `${where}: glob is required`);
    if (!Array.isArray(e.authorities) || e.authorities.length === 0)
      throw new AirlockError('E_INPUT_MALFORMED', `${where}: at least one authority is required`);
    const authorities = e.authorities.map((a, j): Authority => {
      const x = a as { key?: unknown; identity?: unknown; issuer?: unknown };
      if (typeof x?.key === 'string') return { key: x.key };
      return {
        identity: matcher(x?.identity, `${where}.authorities[${j}].identity`),
        issuer: matcher(x?.issuer, `${where}.authorities[${j}].issuer`),
      };
    });
    const attestations = Array.isArray(e.attestations)
      ? e.attestations.map((t) => resolvePredicateType(String(t)))
      : [];
    return { glob: e.glob, authorities, attestations };
  });
  return { entries };
}

/** `*` matches within one path segment, `**` across segments; everything else is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Image names are matched without transport prefix and tag/digest: `registry.corp/team/app`. */
export function policyName(name: string): string {
  const bare = name.replace(/^docker:\/\//, '');
  return bare.replace(/@sha(256|512):[0-9a-f]+$/, '').replace(/:[^/:]+$/, '');
}

export function matchingEntries(policy: ImagePolicy, name: string): PolicyEntry[] {
  const bare = policyName(name);
  return policy.entries.filter((e) => globToRegExp(e.glob).test(bare));
}

/** What an entry needs, as checks the caller runs: a signature, then each attestation type. */
export interface Requirement {
  readonly entry: PolicyEntry;
  readonly predicateType: string | undefined;
}

/**
 * The requirements for an image known by several names (at import: the name it was packed as and the
 * name it lands under): every entry matching any of them applies, so renaming on the way never
 * escapes an entry. No entry for any name is a denial.
 */
export function requirementsFor(policy: ImagePolicy, names: string | readonly string[]): Requirement[] {
  const all = typeof names === 'string' ? [names] : names;
  const entries = [...new Set(all.flatMap((n) => matchingEntries(policy, n)))];
  if (entries.length === 0) {
    throw new AirlockError(
      'E_POLICY_DENIED',
      `no policy entry matches ${all.map(policyName).join(' or ')}: the policy does not let it in`,
    );
  }
  return entries.flatMap((entry) => [
    { entry, predicateType: undefined },
    ...entry.attestations.map((t) => ({ entry, predicateType: t })),
  ]);
}
