// The trust every packed or imported image must meet, checked the same way on both sides of the gap:
// `pack` checks it where a coverage gap can still be fixed (the seeds' "fail the build whose bundle
// can't be verified against the current mirrored root"), `import` checks it again before anything is
// pushed. One trust for every image (verify's flags), or an image policy per image name.
import type { KeyObject } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import { keyFingerprint } from '../crypto/keys.ts';
import { isIndexDoc, parseManifestJson } from '../oci/manifest.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';
import { type ImageVerification, verifyImage } from '../oci/verify-image.ts';
import { type Authority, type ImagePolicy, requirementsFor } from '../policy/image-policy.ts';
import type { VerifyBlobOptions } from '../sigstore/verify/verify-blob.ts';
import { bounded } from '../text.ts';

/** An image policy with its key files already loaded (by the path the policy names). */
export interface LoadedPolicy {
  readonly policy: ImagePolicy;
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** Trust root and thresholds for the policy's authorities. */
  readonly base: Omit<VerifyBlobOptions, 'trust'>;
}

export type ImageTrust = VerifyBlobOptions | LoadedPolicy;

/** The trust in words, for reports and the metadata (`coverage.verified`). */
export function describeTrust(trust: ImageTrust): string {
  if ('policy' in trust) return `image policy (${trust.policy.entries.length} entries)`;
  const t = trust.trust;
  const match = (m: { exact?: string; regexp?: string }) => (m.exact !== undefined ? m.exact : `/${m.regexp}/`);
  const who =
    t.kind === 'key'
      ? `key ${keyFingerprint(t.publicKey)}`
      : `identity ${match(t.policy.identity)} from ${match(t.policy.issuer)}`;
  return `${who}, tlog ${trust.tlogThreshold ?? 1}, timestamps ${trust.timestampThreshold ?? 0}`;
}

function authorityTrust(a: Authority, keys: ReadonlyMap<string, KeyObject>): VerifyBlobOptions['trust'] {
  if ('key' in a) {
    const publicKey = keys.get(a.key);
    if (!publicKey) throw new AirlockError('E_INTERNAL', `policy key ${a.key} was not loaded`);
    return { kind: 'key', publicKey };
  }
  return { kind: 'identity', policy: { identity: a.identity, issuer: a.issuer } };
}

/**
 * The image's signatures against the trust, and what says no (E_SIGNATURE_INVALID, E_POLICY_DENIED), if anything does.
 */
export interface TrustCheck {
  readonly verification: ImageVerification;
  readonly denial?: AirlockError;
}

/** Every requirement the policy sets for these names must be met by one of its entry's authorities. */
async function checkPolicy(
  store: ImageStore,
  names: readonly string[],
  subject: Descriptor,
  loaded: LoadedPolicy,
): Promise<TrustCheck> {
  const results: ImageVerification['results'][number][] = [];
  let requirements;
  try {
    requirements = requirementsFor(loaded.policy, names);
  } catch (err) {
    return { verification: { ok: false, digest: subject.digest, results }, denial: err as AirlockError };
  }
  for (const req of requirements) {
    let met = false;
    for (const authority of req.entry.authorities) {
      const v = await verifyImage(store, subject, {
        ...loaded.base,
        trust: authorityTrust(authority, loaded.keys),
        ...(req.predicateType ? { predicateType: req.predicateType } : {}),
      });
      results.push(...v.results);
      if (v.ok) {
        met = true;
        break;
      }
    }
    if (!met) {
      const what = req.predicateType ? `a ${req.predicateType} attestation` : 'a signature';
      const denial = new AirlockError(
        'E_POLICY_DENIED',
        `${bounded(names[0] ?? '', 160)}: policy entry ${req.entry.glob} needs ${what} by one of ` +
          `its ${req.entry.authorities.length} authorities; none verified`,
      );
      return { verification: { ok: false, digest: subject.digest, results }, denial };
    }
  }
  return { verification: { ok: true, digest: subject.digest, results } };
}

/**
 * The image's signatures against the trust. `names`: what the image is called (as packed; at import
 * also where it lands): a policy applies every entry matching any of them.
 */
export async function checkImageTrust(
  store: ImageStore,
  names: readonly string[],
  subject: Descriptor,
  trust: ImageTrust,
): Promise<TrustCheck> {
  if ('policy' in trust) return checkPolicy(store, names, subject, trust);
  const verification = await verifyImage(store, subject, trust);
  if (verification.ok) return { verification };
  const reasons =
    verification.results.map((r) => `${r.where}: ${bounded(r.reason ?? '', 200)}`).join('; ') || 'no signature';
  return {
    verification,
    denial: new AirlockError(
      'E_SIGNATURE_INVALID',
      `${bounded(names[0] ?? '', 160)} (${subject.digest}): no signature verified (${reasons})`,
    ),
  };
}

/** Whether anything signature-like is attached at all: a referrer with a Sigstore bundle, or a legacy .sig tag. */
export async function hasAnySignature(store: ImageStore, subject: Descriptor): Promise<boolean> {
  const referrers = await store.listReferrers(subject.digest);
  if (referrers.some((r) => (r.artifactType ?? '').startsWith('application/vnd.dev.sigstore.bundle'))) return true;
  const sigTag = `${subject.digest.replace(':', '-')}.sig`;
  return (await store.listTags()).includes(sigTag);
}

/** One platform of an image: what grype scans at a time. */
export interface ImagePlatform {
  /** `linux/amd64`, or `image` for a single-platform manifest. */
  readonly name: string;
  readonly manifest: string;
  readonly config: string;
}

export interface ImageSubjects {
  /** Every digest that names the image or a part of it: an SBOM or a scan is about it when it names one. */
  readonly digests: ReadonlySet<string>;
  /** Its platforms (an index's runnable manifests; attestation manifests, platform unknown, are none). */
  readonly platforms: readonly ImagePlatform[];
}

/**
 * Every digest that names this image — the index or manifest itself, each platform manifest of an
 * index, each image config (what grype calls the image ID) — and its platforms.
 */
export async function imageSubjects(store: ImageStore, subject: Descriptor): Promise<ImageSubjects> {
  const digests = new Set<string>([subject.digest]);
  const doc = parseManifestJson(await store.getManifest(subject.digest));
  if (!isIndexDoc(doc)) {
    digests.add(doc.config.digest);
    return { digests, platforms: [{ name: 'image', manifest: subject.digest, config: doc.config.digest }] };
  }
  const platforms: ImagePlatform[] = [];
  for (const m of doc.manifests) {
    digests.add(m.digest);
    // A platform the store does not hold (copied with --platform) has no config to name here.
    const child = await store.getManifest(m.digest).then(parseManifestJson, () => undefined);
    if (!child || isIndexDoc(child)) continue;
    digests.add(child.config.digest);
    const p = m.platform;
    if (p && (p.os === 'unknown' || p.architecture === 'unknown')) continue;
    platforms.push({
      name: p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : m.digest,
      manifest: m.digest,
      config: child.config.digest,
    });
  }
  return { digests, platforms };
}

/** Every digest that names this image (see imageSubjects). */
export async function imageDigests(store: ImageStore, subject: Descriptor): Promise<Set<string>> {
  return new Set((await imageSubjects(store, subject)).digests);
}

/**
 * The platforms no scan is about: a scan names a platform by its manifest or config digest. A scan of
 * one platform of a multi-platform image says nothing of the others, so a gate needs one per platform.
 */
export function unscannedPlatforms(subjects: ImageSubjects, named: ReadonlyArray<readonly string[]>): ImagePlatform[] {
  if (subjects.platforms.length <= 1 && named.some((n) => n.length === 0 || n.some((d) => subjects.digests.has(d))))
    return [];
  return subjects.platforms.filter((p) => !named.some((n) => n.includes(p.manifest) || n.includes(p.config)));
}
