// From a decision to the AdmissionReview response each webhook path returns. /validate allows or
// denies, with kubectl's one line first (≤ 120 characters: the image, its digest, the policy entry,
// the failed check) and the whole story in status.message and auditAnnotations. /mutate never denies:
// it pins each image it may to the digest the decision names (`repo:tag@sha256:…`) with an RFC 6902
// patch, and adds nothing when the image already names that digest, so a reinvocation changes nothing.
import { bounded } from '../text.ts';
import { blocks, type Decision, type ImageOutcome } from './decide.ts';
import { type AdmissionResponse, MAX_WARNING, patchFields } from './review.ts';

const KIND: Record<ImageOutcome['outcome'], string> = {
  verified: 'verified',
  denied: 'denied',
  unevaluable: 'could not evaluate',
  'no-match': 'not admitted by the policy',
};

/** Whether the outcome is a verdict about the image or a failure to reach one. */
export function isVerdict(o: ImageOutcome): boolean {
  return o.outcome !== 'unevaluable';
}

/** A line cut to `max` characters at most (kubectl shows one line; the API server cuts warnings). */
function clip(text: string, max: number): string {
  const safe = bounded(text, 4096);
  return safe.length <= max ? safe : `${safe.slice(0, max - 1)}…`;
}

function shortDigest(digest: string | undefined): string {
  return digest ? ` (${digest.slice(0, 19)}…)` : '';
}

/** One line per image result: image, digest, entry, check, reason. */
export function describeOutcome(o: ImageOutcome): string {
  const entry = o.entry ? ` ${o.entry}` : '';
  const check = o.check ? ` [${o.check}]` : '';
  return `${bounded(o.field.image, 200)}${shortDigest(o.digest)}${entry}: ${KIND[o.outcome]}${check}: ${o.reason}`;
}

/**
 * What fits on kubectl's one line, most telling first: the outcome and the failed check, the image and
 * its digest, the entry by index (its glob is in the full message).
 */
function shortLine(prefix: string, o: ImageOutcome, suffix = '', max = 120): string {
  const check = o.check ? ` [${o.check}]` : '';
  const entry = o.entry ? ` ${o.entry.split(' ')[0]}` : '';
  return clip(`${prefix}${KIND[o.outcome]}${check}: ${o.field.image}${shortDigest(o.digest)}${entry}${suffix}`, max);
}

function firstLine(failing: readonly ImageOutcome[]): string {
  const [first] = failing;
  if (!first) return '';
  return shortLine('airlock: ', first, failing.length > 1 ? ` (+${failing.length - 1} more)` : '');
}

function warningsOf(decision: Decision): string[] {
  const soft = decision.images.filter((o) => o.outcome !== 'verified' && !blocks(o));
  const lines = soft.slice(0, 10).map((o) => shortLine('airlock (warn): ', o, '', MAX_WARNING));
  if (soft.length > 10) lines.push(`airlock (warn): ${soft.length - 10} more images not verified`);
  return lines;
}

function auditAnnotations(decision: Decision): Record<string, string> {
  const summary = decision.images.map((o) => ({
    image: bounded(o.field.image, 200),
    where: o.field.where,
    outcome: o.outcome,
    mode: o.mode,
    ...(o.digest ? { digest: o.digest } : {}),
    ...(o.entry ? { entry: o.entry } : {}),
    ...(o.check ? { check: o.check } : {}),
    reason: bounded(o.reason, 300),
  }));
  return {
    decision: decision.allowed ? 'allowed' : 'denied',
    ...(decision.skipped ? { skipped: decision.skipped } : {}),
    ...(summary.length ? { images: bounded(JSON.stringify(summary), 8000) } : {}),
  };
}

export function validateResponse(uid: string, decision: Decision): AdmissionResponse {
  const warnings = warningsOf(decision);
  const base = { uid, auditAnnotations: auditAnnotations(decision), ...(warnings.length ? { warnings } : {}) };
  if (decision.allowed) return { ...base, allowed: true };
  const failing = decision.images.filter(blocks);
  const message = [firstLine(failing), ...failing.map(describeOutcome)].join('\n');
  return { ...base, allowed: false, status: { code: 403, reason: 'Forbidden', message } };
}

/** `repo:tag@sha256:…` for a reference as written and the digest it resolved to. */
export function pinned(image: string, digest: string): string {
  const at = image.indexOf('@');
  return `${at === -1 ? image : image.slice(0, at)}@${digest}`;
}

export function mutateResponse(uid: string, decision: Decision): AdmissionResponse {
  const ops = new Map<string, { op: 'replace'; path: string; value: string }>();
  for (const o of decision.images) {
    if (!o.digest || !o.pin || o.outcome === 'no-match') continue;
    const value = pinned(o.field.image, o.digest);
    if (value !== o.field.image) ops.set(o.field.pointer, { op: 'replace', path: o.field.pointer, value });
  }
  return { uid, allowed: true, ...patchFields([...ops.values()]) };
}
