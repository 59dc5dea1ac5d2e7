// The image policy `import` and admission apply: which keys or keyless identities must have signed
// which images, which attestations must be present (and what they must say), and — for admission —
// whether a failure denies or warns, in which namespaces, and whether an on-prem log must hold the
// signature. Data, decided by pure functions, in the spirit of policy-controller's ClusterImagePolicy
// (docs/policy.md has the whole schema):
//   { "apiVersion": "airlock/v1", "kind": "ImagePolicy", "mode": "enforce",
//     "images": [ { "glob": "registry.corp/team/**", "mode": "warn",
//                   "authorities": [ { "key": "keys/team.pub" },
//                                    { "identity": { "exact": "..." }, "issuer": { "exact": "..." },
//                                      "trust": "corp" } ],
//                   "attestations": ["https://spdx.dev/Document",
//                                    { "predicateType": "vuln", "maxSeverity": "high" }] } ] }
// Every entry whose glob matches an image applies; each needs one authority that verifies a signature
// and, for each required attestation type, one authority that verifies such an attestation. An image
// no entry matches is denied: a policy lists what may come in. Every field added for admission is
// optional: a policy written for import means the same as before.
import { AirlockError } from '../errors.ts';
import { resolvePredicateType } from '../sigstore/in-toto.ts';
import { anchored, type Matcher } from '../sigstore/verify/identity.ts';
import { type NamespaceScope, parseNamespaceScope } from './namespace-scope.ts';
import { parseSeverity, type Severity } from './severity.ts';

export type Mode = 'enforce' | 'warn';

export type Authority =
  | { readonly key: string }
  | {
      readonly identity: Matcher;
      readonly issuer: Matcher;
      /** An installed trust root (`airlock trust import --name`) to verify against instead of the default. */
      readonly trust?: string;
    };

/** What a required attestation must say, beyond being there and verifying. */
export interface AttestationCondition {
  readonly predicateType: string;
  /** Vulnerability attestations: every finding at or below this severity (an unknown one fails). */
  readonly maxSeverity?: Severity;
}

/** The signature must be in an on-prem log: its checkpoint key, and optionally a witness policy. */
export interface LogInclusion {
  /** The log's note verifier key (`airlock log serve` prints it): a file, or the key text itself. */
  readonly logKey: string;
  readonly witnessPolicy?: string;
}

export interface PolicyEntry {
  readonly glob: string;
  readonly authorities: readonly Authority[];
  /** Predicate types that must be attested (each with its conditions in `conditions`, if any). */
  readonly attestations: readonly string[];
  readonly conditions: readonly AttestationCondition[];
  /** Admission: deny (enforce) or admit with a warning (warn) when this entry is not met. */
  readonly mode: Mode;
  /** Admission: the namespaces this entry applies in (the policy's scope when not given). */
  readonly namespaces: NamespaceScope;
  /** Admission's /mutate pins matching images to their digest unless an entry opts out. */
  readonly pinDigest: boolean;
  readonly requireLogInclusion?: LogInclusion;
}

export interface ImagePolicy {
  readonly mode: Mode;
  readonly namespaces: NamespaceScope;
  readonly entries: readonly PolicyEntry[];
}

function matcher(value: unknown, where: string): Matcher {
  const m = value as { exact?: unknown; regexp?: unknown };
  if (typeof m?.exact === 'string') return { exact: m.exact };
  if (typeof m?.regexp === 'string') {
    anchored(m.regexp, where);
    return { regexp: m.regexp };
  }
  throw malformed(`${where}: needs {"exact": "..."} or {"regexp": "..."}`);
}

function malformed(message: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', message);
}

function parseMode(value: unknown, where: string, fallback: Mode): Mode {
  if (value === undefined) return fallback;
  if (value === 'enforce' || value === 'warn') return value;
  throw malformed(`${where}.mode: enforce or warn, got ${JSON.stringify(value)?.slice(0, 40)}`);
}

function parseAuthority(a: unknown, where: string): Authority {
  const x = a as { key?: unknown; identity?: unknown; issuer?: unknown; trust?: unknown };
  if (typeof x?.key === 'string') return { key: x.key };
  if (x?.trust !== undefined && (typeof x.trust !== 'string' || !x.trust))
    throw malformed(`${where}.trust: the name of an installed trust root`);
  return {
    identity: matcher(x?.identity, `${where}.identity`),
    issuer: matcher(x?.issuer, `${where}.issuer`),
    ...(typeof x?.trust === 'string' ? { trust: x.trust } : {}),
  };
}

function parseAttestation(t: unknown, where: string): AttestationCondition {
  if (typeof t === 'string') return { predicateType: resolvePredicateType(t) };
  const x = t as { predicateType?: unknown; maxSeverity?: unknown };
  if (typeof x?.predicateType !== 'string' || !x.predicateType)
    throw malformed(`${where}: a predicate type, or {"predicateType": ..., "maxSeverity": ...}`);
  if (x.maxSeverity !== undefined && typeof x.maxSeverity !== 'string')
    throw malformed(`${where}.maxSeverity: a severity name`);
  return {
    predicateType: resolvePredicateType(x.predicateType),
    ...(typeof x.maxSeverity === 'string' ? { maxSeverity: parseSeverity(x.maxSeverity, `${where}.maxSeverity`) } : {}),
  };
}

function parseLogInclusion(value: unknown, where: string): LogInclusion | undefined {
  if (value === undefined) return undefined;
  const x = value as { logKey?: unknown; witnessPolicy?: unknown };
  if (typeof x?.logKey !== 'string' || !x.logKey)
    throw malformed(`${where}.requireLogInclusion: needs {"logKey": FILE or KEY, "witnessPolicy"?: FILE}`);
  if (x.witnessPolicy !== undefined && typeof x.witnessPolicy !== 'string')
    throw malformed(`${where}.requireLogInclusion.witnessPolicy: a file`);
  return { logKey: x.logKey, ...(typeof x.witnessPolicy === 'string' ? { witnessPolicy: x.witnessPolicy } : {}) };
}

function parseEntry(raw: unknown, where: string, policy: { mode: Mode; namespaces: NamespaceScope }): PolicyEntry {
  const e = raw as Record<string, unknown> | null;
  if (typeof e?.glob !== 'string' || !e.glob) throw malformed(`${where}: glob is required`);
  if (!Array.isArray(e.authorities) || e.authorities.length === 0)
    throw malformed(`${where}: at least one authority is required`);
  if (e.attestations !== undefined && !Array.isArray(e.attestations)) throw malformed(`${where}.attestations: a list`);
  if (e.pinDigest !== undefined && typeof e.pinDigest !== 'boolean')
    throw malformed(`${where}.pinDigest: true or false`);
  const conditions = ((e.attestations as unknown[] | undefined) ?? []).map((t, k) =>
    parseAttestation(t, `${where}.attestations[${k}]`),
  );
  const requireLogInclusion = parseLogInclusion(e.requireLogInclusion, where);
  return {
    glob: e.glob,
    authorities: e.authorities.map((a, j) => parseAuthority(a, `${where}.authorities[${j}]`)),
    attestations: conditions.map((c) => c.predicateType),
    conditions: conditions.filter((c) => c.maxSeverity !== undefined),
    mode: parseMode(e.mode, where, policy.mode),
    namespaces:
      e.namespaces === undefined
        ? policy.namespaces
        : parseNamespaceScope(e.namespaces, `${where}.namespaces`, 'entry'),
    pinDigest: e.pinDigest !== false,
    ...(requireLogInclusion ? { requireLogInclusion } : {}),
  };
}

export function parseImagePolicy(doc: unknown, source: string): ImagePolicy {
  const d = doc as { apiVersion?: unknown; kind?: unknown; images?: unknown; mode?: unknown; namespaces?: unknown };
  if (d?.apiVersion !== 'airlock/v1' || d.kind !== 'ImagePolicy' || !Array.isArray(d.images) || d.images.length === 0) {
    throw malformed(`${source}: not an airlock/v1 ImagePolicy with at least one images[] entry`);
  }
  const mode = parseMode(d.mode, source, 'enforce');
  const namespaces = parseNamespaceScope(d.namespaces, `${source}: namespaces`, 'policy');
  const entries = d.images.map((raw, i) => parseEntry(raw, `${source}: images[${i}]`, { mode, namespaces }));
  return { mode, namespaces, entries };
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

// A webhook matches every image of every review: each glob is compiled once, not per match.
const compiled = new Map<string, RegExp>();

function globMatcher(glob: string): RegExp {
  let re = compiled.get(glob);
  if (!re) {
    re = globToRegExp(glob);
    if (compiled.size >= 4096) compiled.clear(); // policies hold tens of globs; a bound all the same
    compiled.set(glob, re);
  }
  return re;
}

export function matchingEntries(policy: ImagePolicy, name: string): PolicyEntry[] {
  const bare = policyName(name);
  return policy.entries.filter((e) => globMatcher(e.glob).test(bare));
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
  return requirementsOf(entries);
}

/** Each entry's requirements: its signature, then each attestation type it names. */
export function requirementsOf(entries: readonly PolicyEntry[]): Requirement[] {
  return entries.flatMap((entry) => [
    { entry, predicateType: undefined },
    ...entry.attestations.map((t) => ({ entry, predicateType: t })),
  ]);
}
