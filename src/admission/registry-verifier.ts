// The verifier admission asks: a reference as written → its digest (a tag is resolved read-only
// against the registry the cluster pulls from) → every requirement of one policy entry, checked with
// the current material. Nothing but that registry is ever contacted. Verified answers are kept by
// (digest, entry, material) for a while, never past the freshness deadline of a trust root they
// relied on; could-not-evaluate briefly, so a registry outage is not
// asked again on every request of a burst; a denial not at all (a signature may be added any time).
import { BoundedMap } from '../bounded-map.ts';
import { AirlockError } from '../errors.ts';
import { openImage, type RegistryOptions, resolveImage } from '../oci/open-store.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';
import { verifyImage } from '../oci/verify-image.ts';
import { type PolicyEntry, requirementsOf } from '../policy/image-policy.ts';
import { PREDICATE_TYPE_ALIASES } from '../sigstore/in-toto.ts';
import { bounded } from '../text.ts';
import { entryUsableUntil, MaterialMissing, optionsFor, type VerificationMaterial } from './material.ts';
import type { ImageVerdict, ImageVerifier, KnownVerdict } from './verdict.ts';
import { overSeverity } from './vuln-predicate.ts';

export interface RegistryVerifierOptions {
  readonly registry: RegistryOptions;
  /** The current material; read once per verification, so a swap never mixes two sets. */
  readonly material: () => VerificationMaterial;
  readonly policyIndex: (entry: PolicyEntry) => number;
  readonly now: () => Date;
  /** How long a verified answer is reused (default 5 minutes). */
  readonly verifiedTtlMs?: number;
  /** How long could-not-evaluate is reused (default 10 seconds). */
  readonly unevaluableTtlMs?: number;
  /** Cache sizes (default 10,000 verdicts). */
  readonly cacheEntries?: number;
  readonly onCache?: (hit: boolean) => void;
}

interface Kept {
  readonly verdict: ImageVerdict;
  readonly until: number;
  /** On the verifier's clock: past this a trust root the verdict relied on is stale, so is the verdict. */
  readonly staleAt?: number;
}

/** The digest a reference names (`repo@sha256:…`, `repo:tag@sha256:…`), if it names one. */
export function digestIn(image: string): string | undefined {
  return /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
}

/** `registry.corp/app:1` (as a pod names it) as airlock's reference: `docker://registry.corp/app:1`. */
export function dockerReference(image: string): string {
  return image.startsWith('docker://') ? image : `docker://${image}`;
}

function unevaluable(check: string, reason: string, digest?: string): ImageVerdict {
  return { outcome: 'unevaluable', check, reason: bounded(reason, 400), ...(digest ? { digest } : {}) };
}

/** cosign's short name for a predicate type (`vuln`, `spdx`), for kubectl's one line; else the URI. */
function shortType(predicateType: string): string {
  return Object.entries(PREDICATE_TYPE_ALIASES).find(([, uri]) => uri === predicateType)?.[0] ?? predicateType;
}

export class RegistryVerifier {
  readonly #options: RegistryVerifierOptions;
  readonly #kept: BoundedMap<string, Kept>;

  constructor(options: RegistryVerifierOptions) {
    this.#options = options;
    this.#kept = new BoundedMap(options.cacheEntries ?? 10_000, { order: 'use' });
  }

  /** A reference by digest names its bytes: a verdict kept for them needs no registry round trip. */
  readonly known: KnownVerdict = (image, entry) => {
    const written = digestIn(image);
    return written ? this.#cached(written, entry, this.#options.material()) : undefined;
  };

  /** The verifier function the decision takes. */
  readonly verify: ImageVerifier = async (image, entry) => {
    const material = this.#options.material();
    const early = this.known(image, entry);
    if (early) return early;
    let opened;
    try {
      opened = await openImage(dockerReference(image), 'read', this.#options.registry);
    } catch (err) {
      return unevaluable('registry', `cannot read the reference: ${(err as Error).message}`);
    }
    try {
      return await this.#verifyOpened(opened.store, opened, entry, material);
    } finally {
      await opened.store.close();
    }
  };

  #key(digest: string, entry: PolicyEntry, material: VerificationMaterial): string {
    return `${digest} ${this.#options.policyIndex(entry)} ${material.digest}`;
  }

  /** A kept verdict still good now: within its time to live, and no root it relied on gone stale. */
  #cached(digest: string, entry: PolicyEntry, material: VerificationMaterial): ImageVerdict | undefined {
    const kept = this.#kept.get(this.#key(digest, entry, material));
    const stale = kept?.staleAt !== undefined && this.#options.now().getTime() > kept.staleAt;
    if (!kept || kept.until <= Date.now() || stale) return undefined;
    this.#options.onCache?.(true);
    return kept.verdict;
  }

  async #verifyOpened(
    store: ImageStore,
    opened: Parameters<typeof resolveImage>[0],
    entry: PolicyEntry,
    material: VerificationMaterial,
  ): Promise<ImageVerdict> {
    let subject: Descriptor;
    try {
      subject = await resolveImage(opened);
    } catch (err) {
      return unevaluable('registry', `cannot resolve it in the registry: ${(err as Error).message}`);
    }
    const kept = this.#cached(subject.digest, entry, material);
    if (kept) return kept;
    this.#options.onCache?.(false);
    const verdict = await this.#check(store, subject, entry, material);
    this.#keep(this.#key(subject.digest, entry, material), verdict, entryUsableUntil(material, entry));
    return verdict;
  }

  #keep(key: string, verdict: ImageVerdict, staleAt: number | undefined): void {
    const ttl =
      verdict.outcome === 'verified'
        ? (this.#options.verifiedTtlMs ?? 300_000)
        : verdict.outcome === 'unevaluable'
          ? (this.#options.unevaluableTtlMs ?? 10_000)
          : 0;
    if (ttl > 0)
      this.#kept.set(key, { verdict, until: Date.now() + ttl, ...(staleAt !== undefined ? { staleAt } : {}) });
    else this.#kept.delete(key);
  }

  /** Every requirement of the entry: a signature, then each attestation (with its conditions). */
  async #check(store: ImageStore, subject: Descriptor, entry: PolicyEntry, material: VerificationMaterial) {
    const now = this.#options.now();
    try {
      for (const req of requirementsOf([entry])) {
        const failure = await this.#requirement(store, subject, entry, req.predicateType, material, now);
        if (failure) return failure;
      }
      return { outcome: 'verified', digest: subject.digest } as const;
    } catch (err) {
      if (err instanceof MaterialMissing) return unevaluable(err.what, err.message, subject.digest);
      const code = err instanceof AirlockError ? ` [${err.code}]` : '';
      return unevaluable('evaluation', `${(err as Error).message}${code}`, subject.digest);
    }
  }

  async #requirement(
    store: ImageStore,
    subject: Descriptor,
    entry: PolicyEntry,
    predicateType: string | undefined,
    material: VerificationMaterial,
    now: Date,
  ): Promise<ImageVerdict | undefined> {
    const condition = entry.conditions.find((c) => c.predicateType === predicateType);
    const reasons: string[] = [];
    const missing: MaterialMissing[] = [];
    let overLimit: ImageVerdict | undefined;
    // Any one authority is enough: one that cannot be evaluated (its root stale, say) or whose
    // attestation fails its condition does not stop the others from being tried.
    for (const authority of entry.authorities) {
      let options;
      try {
        options = { ...optionsFor(material, entry, authority, now), ...(predicateType ? { predicateType } : {}) };
      } catch (err) {
        if (!(err instanceof MaterialMissing)) throw err;
        missing.push(err);
        continue;
      }
      const v = await verifyImage(store, subject, options, { keepPredicates: condition !== undefined });
      if (!v.ok) {
        reasons.push(...v.results.map((r) => `${r.where}: ${r.reason ?? 'not verified'}`));
        continue;
      }
      if (!condition?.maxSeverity) return undefined;
      const over = (v.predicates ?? []).map((p) => overSeverity(p, condition.maxSeverity ?? 'critical'));
      if (over.some((o) => o === undefined)) return undefined;
      overLimit ??= {
        outcome: 'denied',
        digest: subject.digest,
        check: `${shortType(predicateType ?? '')} maxSeverity ${condition.maxSeverity}`,
        reason: `findings over ${condition.maxSeverity}: ${bounded((over[0] ?? []).slice(0, 5).join(', '), 300)}`,
      };
    }
    if (overLimit) return overLimit;
    if (missing.length > 0)
      throw new MaterialMissing(missing[0]?.what ?? 'evaluation', missing.map((m) => m.message).join('; '));
    return this.#unmet(subject, entry, predicateType, reasons);
  }

  #unmet(subject: Descriptor, entry: PolicyEntry, predicateType: string | undefined, reasons: string[]): ImageVerdict {
    const what = predicateType ? `attestation ${predicateType}` : 'signature';
    const check = predicateType ? `attestation ${shortType(predicateType)}` : 'signature';
    const log = entry.requireLogInclusion ? ` included in the on-prem log ${entry.requireLogInclusion.logKey}` : '';
    const found = reasons.length === 0 ? 'none attached' : bounded(reasons.slice(0, 3).join('; '), 300);
    return {
      outcome: 'denied',
      digest: subject.digest,
      check: entry.requireLogInclusion && !predicateType ? 'signature + log inclusion' : check,
      reason: `no ${what}${log} by any of the entry's ${entry.authorities.length} authorities verified (${found})`,
    };
  }
}
