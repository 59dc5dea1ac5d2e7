// What the webhook verifies with, loaded once and swapped whole when a file changes: the keys the
// policy names, the trust roots (the default one, and installed ones by name with the instant each
// stops being acceptable under the freshness policy), and each on-prem log a policy entry requires,
// as a transparency-log entry of a trusted root. `digest` names the whole set, so a cached verdict
// is never reused across a change of any of it.
import { createHash, type KeyObject } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { publicKeyPem } from '../crypto/keys.ts';
import { parseVerifierKey } from '../log/note-keys.ts';
import type { Authority, ImagePolicy, LogInclusion, PolicyEntry } from '../policy/image-policy.ts';
import { type LoadedTrustedRoot, parseTrustedRoot } from '../sigstore/trusted-root.ts';
import { checkSctRequirement } from '../sigstore/verify/sct-requirement.ts';
import type { VerifyBlobOptions } from '../sigstore/verify/verify-blob.ts';
import type { WitnessPolicy } from '../sigstore/verify/witness-quorum.ts';
import { createTrustedRoot } from '../trust/create-trusted-root.ts';

/** A trust root as admission uses it, and until when (installed roots: by the freshness policy). */
export interface TrustRootMaterial {
  readonly name: string;
  /** Absent when the root cannot be used (see `unusable`). */
  readonly loaded?: LoadedTrustedRoot;
  /** Past this instant the root is stale: verification against it cannot be trusted. */
  readonly usableUntil?: Date;
  /** Why it cannot be used at all (a broken install, a passed break-glass deadline). */
  readonly unusable?: string;
}

/** An on-prem log a policy entry requires inclusion in: its key, and the witnesses it must carry. */
export interface LogMaterial {
  readonly name: string;
  readonly publicKey: KeyObject;
  readonly witnesses?: WitnessPolicy;
}

export interface VerificationMaterial {
  /** Thresholds and the default trust root, as `import --policy` takes them from the trust flags. */
  readonly base: Omit<VerifyBlobOptions, 'trust' | 'now'>;
  readonly defaultRoot?: TrustRootMaterial;
  readonly roots: ReadonlyMap<string, TrustRootMaterial>;
  /** Public keys by the path the policy names them with. */
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** By `requireLogInclusion.logKey` as the policy writes it. */
  readonly logs: ReadonlyMap<string, LogMaterial>;
  /** sha256 over the policy, every root, key and log: part of every cache key. */
  readonly digest: string;
}

/** The digest of a material set: the policy's own and each part's, in a fixed order. */
export function materialDigest(policyDigest: string, parts: Omit<VerificationMaterial, 'digest'>): string {
  const h = createHash('sha256').update(policyDigest);
  for (const root of [parts.defaultRoot, ...parts.roots.values()])
    if (root) h.update(`${root.name}=${root.loaded?.digest ?? root.unusable}`);
  for (const [path, key] of parts.keys) h.update(`${path}=${publicKeyPem(key)}`);
  for (const [ref, log] of parts.logs) h.update(`${ref}=${log.name}:${publicKeyPem(log.publicKey)}`);
  h.update(JSON.stringify({ ...parts.base, trustedRoot: undefined, witnesses: undefined }));
  return `sha256:${h.digest('hex')}`;
}

/** Whether a policy's `logKey` is the vkey itself (`name+id+key`) rather than a file holding it. */
export function isVkeyText(logKey: string): boolean {
  return logKey.includes('+') && !logKey.includes('/');
}

/** A log's vkey (its text) as the material holds it. */
export function logMaterialOf(vkey: string, witnesses?: WitnessPolicy): LogMaterial {
  const { name, publicKey } = parseVerifierKey(vkey.trim());
  return { name, publicKey, ...(witnesses ? { witnesses } : {}) };
}

/**
 * `root` with its transparency logs replaced by the on-prem log alone: inclusion there is what the
 * entry requires, and no other log may stand in for it. Sigstore clients match a checkpoint's origin
 * against the host of the log's URL, so the URL is made from the log's name.
 */
export function withOnlyLog(root: LoadedTrustedRoot | undefined, log: LogMaterial): LoadedTrustedRoot {
  const json = createTrustedRoot({
    tlogs: [
      {
        publicKeyPem: publicKeyPem(log.publicKey),
        baseUrl: `https://${log.name}`,
        origin: log.name,
        // The operator pins this key in the policy; entries carry their own integrated times.
        validFor: { start: new Date(0) },
      },
    ],
  }) as unknown as Record<string, unknown>;
  const base = root ? (TrustedRoot.toJSON(root.root) as Record<string, unknown>) : json;
  const merged = { ...base, tlogs: json.tlogs };
  return parseTrustedRoot(Buffer.from(JSON.stringify(merged)), `${root?.source ?? 'no trust root'} + log ${log.name}`);
}

/** Where an authority's verification cannot start, and why (could not evaluate, not a verdict). */
export class MaterialMissing extends Error {
  /** What is missing, for kubectl's line: `trust root`, `policy key`, `log key`. */
  readonly what: string;
  constructor(what: string, message: string) {
    super(message);
    this.what = what;
  }
}

function rootFor(material: VerificationMaterial, authority: Authority, now: Date): LoadedTrustedRoot | undefined {
  const named = 'trust' in authority && authority.trust ? authority.trust : undefined;
  const root = named ? material.roots.get(named) : material.defaultRoot;
  if (named && !root) throw new MaterialMissing('trust root', `trust root "${named}" is not installed`);
  if (root?.unusable)
    throw new MaterialMissing('trust root', `trust root "${root.name}" cannot be used: ${root.unusable}`);
  if (root?.usableUntil && now.getTime() > root.usableUntil.getTime())
    throw new MaterialMissing(
      'trust root',
      `trust root "${root.name}" is stale since ${root.usableUntil.toISOString()} (freshness policy, docs/trust.md)`,
    );
  return root?.loaded ?? material.base.trustedRoot;
}

/**
 * The earliest instant a trust root that one of the entry's authorities verifies against goes stale
 * (undefined: none does). A verdict reached with those roots holds no longer than that.
 */
export function entryUsableUntil(material: VerificationMaterial, entry: PolicyEntry): number | undefined {
  const deadlines = entry.authorities.flatMap((authority) => {
    const named = 'trust' in authority && authority.trust ? authority.trust : undefined;
    const until = (named ? material.roots.get(named) : material.defaultRoot)?.usableUntil;
    return until ? [until.getTime()] : [];
  });
  return deadlines.length ? Math.min(...deadlines) : undefined;
}

/** The verify options for one authority of one entry, at `now`. */
export function optionsFor(
  material: VerificationMaterial,
  entry: PolicyEntry,
  authority: Authority,
  now: Date,
): VerifyBlobOptions {
  const trust: VerifyBlobOptions['trust'] =
    'key' in authority ? keyTrust(material, authority.key) : identityTrust(authority);
  const root = rootFor(material, authority, now);
  const inclusion = entry.requireLogInclusion;
  if (!inclusion) return { ...material.base, ...(root ? { trustedRoot: root } : {}), trust, now };
  const log = logFor(material, inclusion);
  return {
    ...material.base,
    trustedRoot: withOnlyLog(root, log),
    tlogThreshold: Math.max(1, material.base.tlogThreshold ?? 1),
    ...(log.witnesses ? { witnesses: log.witnesses } : {}),
    trust,
    now,
  };
}

function keyTrust(material: VerificationMaterial, path: string): VerifyBlobOptions['trust'] {
  const publicKey = material.keys.get(path);
  if (!publicKey) throw new MaterialMissing('policy key', `policy key ${path} is not loaded`);
  return { kind: 'key', publicKey };
}

function identityTrust(authority: Authority & { identity: unknown }): VerifyBlobOptions['trust'] {
  const a = authority as Extract<Authority, { identity: unknown }>;
  return { kind: 'identity', policy: { identity: a.identity, issuer: a.issuer } };
}

function logFor(material: VerificationMaterial, inclusion: LogInclusion): LogMaterial {
  const log = material.logs.get(inclusion.logKey);
  if (!log) throw new MaterialMissing('log key', `the on-prem log key ${inclusion.logKey} is not loaded`);
  return log;
}

/**
 * Every keyless authority's root must be able to meet the SCT threshold (sct-requirement.ts): a root
 * without a CT log under --ctlog-threshold ≥ 1 is refused when the material loads, not per request.
 */
export function checkSctRequirements(policy: ImagePolicy, material: VerificationMaterial): void {
  for (const authority of policy.entries.flatMap((e) => e.authorities)) {
    if ('key' in authority) continue;
    const root = authority.trust
      ? material.roots.get(authority.trust)?.loaded
      : (material.defaultRoot?.loaded ?? material.base.trustedRoot);
    checkSctRequirement(root, material.base.ctlogThreshold ?? 1);
  }
}

/** Every key path, trust name and log key a policy needs loaded. */
export function materialNeeds(policy: ImagePolicy) {
  const authorities = policy.entries.flatMap((e) => e.authorities);
  return {
    keys: [...new Set(authorities.flatMap((a) => ('key' in a ? [a.key] : [])))],
    trust: [...new Set(authorities.flatMap((a) => ('trust' in a && a.trust ? [a.trust] : [])))],
    logs: [
      ...new Map(
        policy.entries.flatMap((e) =>
          e.requireLogInclusion ? [[e.requireLogInclusion.logKey, e.requireLogInclusion]] : [],
        ) as [string, LogInclusion][],
      ).values(),
    ],
  };
}
