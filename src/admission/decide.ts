// The admission decision: a parsed AdmissionReview and a policy in, allowed or not with its reasons
// out. No I/O: verification is asked of the verifier passed in, so every rule here is tested without a
// registry. Within one review, each distinct (image, entry) pair is verified once, all of them at the
// same time, and whatever has no verdict when the deadline fires is could-not-evaluate.
import { type ImagePolicy, matchingEntries, type Mode, type PolicyEntry } from '../policy/image-policy.ts';
import { scopeApplies } from '../policy/namespace-scope.ts';
import { bounded } from '../text.ts';
import { type ImageField, imagesToCheck } from './pod-images.ts';
import type { AdmissionRequest } from './review.ts';
import type { ImageVerdict, ImageVerifier, KnownVerdict } from './verdict.ts';

export type Outcome = 'verified' | 'denied' | 'unevaluable' | 'no-match';

/** One image field's result against one entry (or against none: no entry matched). */
export interface ImageOutcome {
  readonly field: ImageField;
  readonly outcome: Outcome;
  readonly mode: Mode;
  /** `images[2] registry.corp/**`, or '' when no entry matched. */
  readonly entry: string;
  readonly digest?: string;
  /** The failed check (`signature`, `attestation …`, `log inclusion`, `resolve`, …), '' when verified. */
  readonly check: string;
  readonly reason: string;
  /** Whether /mutate may pin this field (every entry that applies lets it). */
  readonly pin: boolean;
}

export interface Decision {
  readonly allowed: boolean;
  /** Why nothing was checked, when nothing was. */
  readonly skipped?: string;
  readonly images: readonly ImageOutcome[];
}

export interface DecideOptions {
  readonly policy: ImagePolicy;
  readonly verify: ImageVerifier;
  /** Verdicts known without I/O (the verifier's cache): answered at once, with no deadline to race. */
  readonly known?: KnownVerdict;
  /** The webhook's own namespace: exempt unless a policy names it. */
  readonly ownNamespace?: string;
  /** Fires at the internal deadline: what has no verdict then is could-not-evaluate. */
  readonly deadline: AbortSignal;
}

function entryLabel(policy: ImagePolicy, entry: PolicyEntry): string {
  return `images[${policy.entries.indexOf(entry)}] ${entry.glob}`;
}

/** The verifier's answer, or could-not-evaluate when it throws or the deadline comes first. */
function answer(
  verify: ImageVerifier,
  image: string,
  entry: PolicyEntry,
  deadline: AbortSignal,
): Promise<ImageVerdict> {
  const late = (): ImageVerdict => ({
    outcome: 'unevaluable',
    check: 'deadline',
    reason: 'no verdict before the deadline',
  });
  if (deadline.aborted) return Promise.resolve(late());
  return new Promise<ImageVerdict>((resolve) => {
    const onAbort = () => resolve(late());
    deadline.addEventListener('abort', onAbort, { once: true });
    verify(image, entry, deadline)
      .then(resolve, (err: unknown) =>
        resolve({ outcome: 'unevaluable', reason: bounded(err instanceof Error ? err.message : String(err), 300) }),
      )
      .finally(() => deadline.removeEventListener('abort', onAbort));
  });
}

function outcomeOf(field: ImageField, verdict: ImageVerdict, mode: Mode, entry: string, pin: boolean): ImageOutcome {
  const base = { field, mode, entry, pin, ...(verdict.digest ? { digest: verdict.digest } : {}) };
  if (verdict.outcome === 'verified') return { ...base, outcome: 'verified', check: '', reason: 'verified' };
  if (verdict.outcome === 'denied') return { ...base, outcome: 'denied', check: verdict.check, reason: verdict.reason };
  return { ...base, outcome: 'unevaluable', check: verdict.check ?? 'evaluation', reason: verdict.reason };
}

/** The entries that apply to one image in this namespace; none matching at all is `no-match`. */
function applicable(policy: ImagePolicy, image: string, namespace: string, own: string | undefined) {
  const matching = matchingEntries(policy, image);
  return { matching, inScope: matching.filter((e) => scopeApplies(e.namespaces, namespace, own)) };
}

function unmatched(field: ImageField, policy: ImagePolicy, reason: string, check: string): ImageOutcome {
  return { field, outcome: 'no-match', mode: policy.mode, entry: '', check, reason, pin: false };
}

async function checkField(field: ImageField, request: AdmissionRequest, options: DecideOptions, once: Once) {
  const { policy } = options;
  if (!field.image) return [unmatched(field, policy, `${field.where} has no readable image`, 'image')];
  const { matching, inScope } = applicable(policy, field.image, request.namespace, options.ownNamespace);
  if (matching.length === 0)
    return [unmatched(field, policy, 'no policy entry matches this image: the policy does not let it in', 'policy')];
  const pin = inScope.every((e) => e.pinDigest);
  return Promise.all(
    inScope.map(async (entry) =>
      outcomeOf(field, await once(field.image, entry), entry.mode, entryLabel(policy, entry), pin),
    ),
  );
}

type Once = (image: string, entry: PolicyEntry) => Promise<ImageVerdict>;

/** Each distinct (image, entry) is asked of the verifier once per review. */
function oncePerReview(options: DecideOptions): Once {
  const asked = new Map<string, Promise<ImageVerdict>>();
  return (image, entry) => {
    const key = `${options.policy.entries.indexOf(entry)} ${image}`;
    let pending = asked.get(key);
    if (!pending) {
      const known = options.known?.(image, entry);
      pending = known ? Promise.resolve(known) : answer(options.verify, image, entry, options.deadline);
      asked.set(key, pending);
    }
    return pending;
  };
}

/** Whether a result stops the request: anything short of verified, in an enforce entry. */
export function blocks(o: ImageOutcome): boolean {
  return o.outcome !== 'verified' && o.mode === 'enforce';
}

/**
 * A pod runs a handful of images; an object naming thousands would have the webhook open as many
 * registry connections at once. Past this, nothing is verified and the review cannot be evaluated.
 */
export const MAX_DISTINCT_IMAGES = 256;

export async function decide(request: AdmissionRequest, options: DecideOptions): Promise<Decision> {
  const scope = imagesToCheck(request);
  if (!scope.check) return { allowed: true, skipped: scope.why, images: [] };
  if (!scopeApplies(options.policy.namespaces, request.namespace, options.ownNamespace))
    return { allowed: true, skipped: `the policy does not apply in namespace ${request.namespace}`, images: [] };
  const distinct = new Set(scope.fields.map((f) => f.image)).size;
  if (distinct > MAX_DISTINCT_IMAGES) {
    const reason = `${distinct} distinct images in one object; at most ${MAX_DISTINCT_IMAGES} are verified per review`;
    const images = scope.fields.map((f) => ({
      ...unmatched(f, options.policy, reason, 'limit'),
      outcome: 'unevaluable' as const,
    }));
    return { allowed: !images.some(blocks), images };
  }
  const once = oncePerReview(options);
  const images = (await Promise.all(scope.fields.map((f) => checkField(f, request, options, once)))).flat();
  return { allowed: !images.some(blocks), images };
}
