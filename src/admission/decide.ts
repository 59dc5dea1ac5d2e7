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

// An entry's label is asked for every outcome of every review: made once per entry object.
const labels = new WeakMap<PolicyEntry, string>();

function entryLabel(policy: ImagePolicy, entry: PolicyEntry): string {
  let label = labels.get(entry);
  if (label === undefined) labels.set(entry, (label = `images[${policy.entries.indexOf(entry)}] ${entry.glob}`));
  return label;
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

/** A field to verify: the entries that apply to its image in this namespace, and whether /mutate may pin it. */
interface FieldPlan {
  readonly field: ImageField;
  readonly entries: readonly PolicyEntry[];
  readonly pin: boolean;
}

/** The field's plan, or its outcome when there is nothing to verify (no readable image, no entry). */
function planField(field: ImageField, request: AdmissionRequest, options: PlanOptions): FieldPlan | ImageOutcome {
  const { policy } = options;
  if (!field.image) return unmatched(field, policy, `${field.where} has no readable image`, 'image');
  const { matching, inScope } = applicable(policy, field.image, request.namespace, options.ownNamespace);
  if (matching.length === 0)
    return unmatched(field, policy, 'no policy entry matches this image: the policy does not let it in', 'policy');
  return { field, entries: inScope, pin: inScope.every((e) => e.pinDigest) };
}

/** This review's verdicts by entry and image (each distinct pair asked once); null: not known without I/O. */
type Verdicts = Map<PolicyEntry, Map<string, ImageVerdict | null>>;

/** A review that needs the verifier: its fields planned, the verdicts known so far. */
export interface Plan {
  readonly policy: ImagePolicy;
  readonly fields: readonly (FieldPlan | ImageOutcome)[];
  readonly verdicts: Verdicts;
}

/** A decision made at once, or the plan of one that needs the verifier (see finishDecision). */
export type Planned = { readonly decision: Decision } | { readonly decision?: undefined; readonly plan: Plan };

export type PlanOptions = Pick<DecideOptions, 'policy' | 'known' | 'ownNamespace'>;

/** The verdict of one pair: asked of `known` the first time in this review; null when it has none. */
function knownVerdict(verdicts: Verdicts, entry: PolicyEntry, image: string, known: KnownVerdict | undefined) {
  let byImage = verdicts.get(entry);
  if (!byImage) verdicts.set(entry, (byImage = new Map()));
  let verdict = byImage.get(image);
  if (verdict === undefined) byImage.set(image, (verdict = known?.(image, entry) ?? null));
  return verdict;
}

function decisionOf(plan: Plan): Decision {
  const images: ImageOutcome[] = [];
  for (const p of plan.fields) {
    if ('outcome' in p) images.push(p);
    else
      for (const entry of p.entries) {
        const verdict = plan.verdicts.get(entry)?.get(p.field.image) ?? undefined;
        if (!verdict) throw new Error(`no verdict for ${p.field.image}`); // finishDecision asked for every one
        images.push(outcomeOf(p.field, verdict, entry.mode, entryLabel(plan.policy, entry), p.pin));
      }
  }
  return { allowed: !images.some(blocks), images };
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

/**
 * The decision without any I/O: what needs no verdict, or whose every verdict is known (the verifier's
 * cache), is decided here and now; otherwise the plan says what is left to ask (finishDecision).
 */
export function planDecision(request: AdmissionRequest, options: PlanOptions): Planned {
  const scope = imagesToCheck(request);
  if (!scope.check) return { decision: { allowed: true, skipped: scope.why, images: [] } };
  const { policy } = options;
  if (!scopeApplies(policy.namespaces, request.namespace, options.ownNamespace))
    return {
      decision: { allowed: true, skipped: `the policy does not apply in namespace ${request.namespace}`, images: [] },
    };
  const distinct = new Set(scope.fields.map((f) => f.image)).size;
  if (distinct > MAX_DISTINCT_IMAGES) {
    const reason = `${distinct} distinct images in one object; at most ${MAX_DISTINCT_IMAGES} are verified per review`;
    const images = scope.fields.map((f) => ({
      ...unmatched(f, policy, reason, 'limit'),
      outcome: 'unevaluable' as const,
    }));
    return { decision: { allowed: !images.some(blocks), images } };
  }
  const verdicts: Verdicts = new Map();
  let complete = true;
  const fields = scope.fields.map((field) => {
    const p = planField(field, request, options);
    if (!('outcome' in p))
      for (const entry of p.entries) if (!knownVerdict(verdicts, entry, field.image, options.known)) complete = false;
    return p;
  });
  const plan = { policy, fields, verdicts };
  return complete ? { decision: decisionOf(plan) } : { plan };
}

/** The plan's decision once the verifier answered every pair not known, all at once, before the deadline. */
export async function finishDecision(plan: Plan, verify: ImageVerifier, deadline: AbortSignal): Promise<Decision> {
  const asked: Promise<void>[] = [];
  for (const [entry, byImage] of plan.verdicts)
    for (const [image, verdict] of byImage)
      if (!verdict) asked.push(answer(verify, image, entry, deadline).then((v) => void byImage.set(image, v)));
  await Promise.all(asked);
  return decisionOf(plan);
}

export async function decide(request: AdmissionRequest, options: DecideOptions): Promise<Decision> {
  const planned = planDecision(request, options);
  return planned.decision ?? finishDecision(planned.plan, options.verify, options.deadline);
}
