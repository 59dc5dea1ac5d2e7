// The admission webhook's HTTP API: POST /validate and /mutate take an AdmissionReview v1 and answer
// one; /healthz says the process runs, /readyz that a policy and its trust material are loaded;
// /metrics is Prometheus text. Every request is bounded (413 past the limit), a body that is not an
// AdmissionReview is a 400 and never a crash, and the answer comes before the API server's timeout:
// what has no verdict at the internal deadline is could-not-evaluate. A decision is recorded in the
// audit trail before it is answered (an identical decision made moments before is not recorded
// again); one that cannot be recorded is answered as a denial. dryRun requests record nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Decision, finishDecision, planDecision } from '../admission/decide.ts';
import { isVerdict, mutateResponse, validateResponse } from '../admission/respond.ts';
import { type AdmissionRequest, parseAdmissionReview, reviewDocument } from '../admission/review.ts';
import type { ImageVerifier, KnownVerdict } from '../admission/verdict.ts';
import { BoundedMap } from '../bounded-map.ts';
import { AirlockError } from '../errors.ts';
import type { ImagePolicy } from '../policy/image-policy.ts';
import type { AuditRecord, Recorder } from '../recorder.ts';
import { bounded } from '../text.ts';
import {
  answeredRequestEvent,
  elapsedMs,
  failedRequestEvent,
  HttpError,
  readBody,
  requestHandler,
  requestPath,
  type Routed,
} from './http-io.ts';
import type { Metrics } from './metrics.ts';

/** What the webhook decides with; swapped whole when the policy or trust material changes on disk. */
export interface AdmissionState {
  readonly policy: ImagePolicy;
  readonly verify: ImageVerifier;
  /** Verdicts the verifier knows without I/O (its cache by digest). */
  readonly known?: KnownVerdict;
  /** Names the policy and material together (the audit dedup and the logs use it). */
  readonly digest: string;
}

export interface AdmissionServerOptions {
  /** The current state; undefined until loaded (then /readyz is 503 and reviews are refused). */
  readonly state: () => AdmissionState | undefined;
  readonly ownNamespace?: string;
  /** The internal deadline per review, below the webhook's timeoutSeconds. */
  readonly timeoutMs: number;
  readonly record: Recorder;
  readonly metrics: Metrics;
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  readonly maxBodyBytes?: number;
  /** How long an identical decision is not recorded again (default 5 minutes). */
  readonly recordDedupMs?: number;
}

/** An AdmissionReview carries the object and the old one: Kubernetes objects are at most ~1.5 MiB each. */
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function registerAdmissionMetrics(metrics: Metrics): void {
  metrics.counter('airlock_admission_decisions_total', 'Admission decisions by path, result, mode and reason');
  metrics.histogram('airlock_admission_review_seconds', 'Time to answer a review', LATENCY_BUCKETS);
  metrics.counter('airlock_admission_requests_total', 'HTTP requests by route and status');
}

/** The verifier's cache lookups counted by result (hit or miss), each series resolved once. */
export function cacheCounter(metrics: Metrics): (hit: boolean) => void {
  const hit = metrics.counting('airlock_admission_cache_total', { result: 'hit' });
  const miss = metrics.counting('airlock_admission_cache_total', { result: 'miss' });
  return (found) => (found ? hit() : miss());
}

/** The outcome that decided a review, for metrics: verified, denied, unevaluable, no-match or skipped. */
function reasonOf(decision: Decision): string {
  if (decision.skipped) return 'skipped';
  const failing = decision.images.find((o) => o.outcome !== 'verified');
  return failing ? failing.outcome : 'verified';
}

function modeOf(decision: Decision): string {
  return decision.images.find((o) => o.outcome !== 'verified')?.mode ?? 'enforce';
}

function auditRecordOf(path: string, request: AdmissionRequest, decision: Decision): AuditRecord {
  const unevaluable = decision.images.some((o) => !isVerdict(o) && o.outcome !== 'verified');
  return {
    action: `admission.${path}`,
    result: decision.allowed ? 'ok' : unevaluable ? 'failed' : 'refused',
    subjects: decision.images.map((o) => ({ name: o.field.image, ...(o.digest ? { digest: o.digest } : {}) })),
    ...(decision.skipped ? { reason: decision.skipped } : {}),
    details: {
      uid: request.uid,
      operation: request.operation,
      kind: request.kind.kind,
      namespace: request.namespace,
      name: request.name,
      user: request.user,
      images: decision.images.map((o) => ({
        where: o.field.where,
        outcome: o.outcome,
        mode: o.mode,
        entry: o.entry,
        check: o.check,
        reason: bounded(o.reason, 300),
      })),
    },
  };
}

type ReviewPath = 'validate' | 'mutate';

/**
 * A decision's answer, made once per distinct decision and reused: the response body around its uid
 * (every review has its own), and what the metrics and the log say of it.
 */
interface Answer {
  /** The decision's identity: the path and everything the response says (JSON, so it is unambiguous). */
  readonly key: string;
  readonly allowed: boolean;
  readonly reason: string;
  /** The AdmissionReview's text before and after the uid's JSON string. */
  readonly head: string;
  readonly tail: string;
  readonly count: () => void;
}

/** The decision's identity: what the response says (and the audit dedup needs) in one string. */
function decisionKey(path: ReviewPath, decision: Decision): string {
  const parts: unknown[] = [path, decision.allowed, decision.skipped ?? ''];
  for (const o of decision.images)
    parts.push(
      o.field.pointer,
      o.field.image,
      o.field.where,
      o.outcome,
      o.mode,
      o.entry,
      o.digest ?? '',
      o.check,
      o.reason,
      o.pin,
    );
  return JSON.stringify(parts);
}

/** A placeholder no uid JSON can be confused with: the uid is the response's first field, so its first place. */
const UID_MARK = '\u0000uid\u0000';

export class AdmissionApi {
  readonly #options: AdmissionServerOptions;
  readonly #recorded: BoundedMap<string, number>;
  /** Answers by decision key, bounded by their size (a few hundred bytes to a few kilobytes each). */
  readonly #answers = new BoundedMap<string, Answer>(16 * 1024 * 1024, {
    order: 'insertion',
    weigh: (a) => a.key.length + a.head.length + a.tail.length,
  });
  readonly #latency: Readonly<Record<ReviewPath, (seconds: number) => void>>;
  readonly #requests = new Map<string, () => void>();

  constructor(options: AdmissionServerOptions) {
    this.#options = options;
    this.#recorded = new BoundedMap(10_000, { order: 'insertion' });
    const latency = (path: ReviewPath) => options.metrics.observing('airlock_admission_review_seconds', { path });
    this.#latency = { validate: latency('validate'), mutate: latency('mutate') };
  }

  readonly handler = requestHandler(this);

  route(req: IncomingMessage, res: ServerResponse, started: number): Routed | Promise<Routed> {
    const path = requestPath(req);
    if (req.method === 'GET' && path === '/healthz') return this.#text(res, 200, 'ok\n', 'healthz');
    if (req.method === 'GET' && path === '/readyz')
      return this.#options.state()
        ? this.#text(res, 200, 'ready\n', 'readyz')
        : this.#text(res, 503, 'policy or trust material not loaded\n', 'readyz');
    if (req.method === 'GET' && path === '/metrics')
      return this.#text(res, 200, this.#options.metrics.render(), 'metrics');
    if (path === '/validate' || path === '/mutate') {
      if (req.method !== 'POST')
        throw new HttpError(405, 'E_USAGE', `${path} takes POST`, { headers: { allow: 'POST' } });
      const review = path === '/validate' ? 'validate' : 'mutate';
      return readBody(req, this.#options.maxBodyBytes ?? MAX_REVIEW_BYTES).then((body) =>
        this.#review(body, res, review, started),
      );
    }
    throw new HttpError(404, 'E_USAGE', `no route ${bounded(path, 100)}`);
  }

  #text(res: ServerResponse, status: number, body: string, route: string): Routed {
    res.writeHead(status, { 'content-type': route === 'metrics' ? 'text/plain; version=0.0.4' : 'text/plain' });
    res.end(body);
    return { route };
  }

  /** A review decided at once when its verdicts are known (no promise, no deadline timer); else verified. */
  #review(body: string, res: ServerResponse, path: ReviewPath, started: number): Routed | Promise<Routed> {
    const request = parseReview(body);
    const state = this.#options.state();
    if (!state) throw new HttpError(503, 'E_UNAVAILABLE', 'the policy and trust material are not loaded yet');
    const planned = planDecision(request, {
      policy: state.policy,
      ...(state.known ? { known: state.known } : {}),
      ...(this.#options.ownNamespace ? { ownNamespace: this.#options.ownNamespace } : {}),
    });
    if (planned.decision) return this.#decided(res, path, request, planned.decision, state, started);
    const deadline = AbortSignal.timeout(this.#options.timeoutMs);
    return finishDecision(planned.plan, state.verify, deadline).then((decision) =>
      this.#decided(res, path, request, decision, state, started),
    );
  }

  /** The answer of a decision, made the first time it is seen. */
  #answer(path: ReviewPath, decision: Decision): Answer {
    const key = decisionKey(path, decision);
    const kept = this.#answers.get(key);
    if (kept) return kept;
    const response = path === 'validate' ? validateResponse(UID_MARK, decision) : mutateResponse(UID_MARK, decision);
    const text = JSON.stringify(reviewDocument(response));
    const at = text.indexOf(JSON.stringify(UID_MARK));
    const labels = {
      path,
      result: response.allowed ? 'allowed' : 'denied',
      mode: modeOf(decision),
      reason: reasonOf(decision),
    };
    const answer: Answer = {
      key,
      allowed: response.allowed,
      reason: labels.reason,
      head: text.slice(0, at),
      tail: text.slice(at + JSON.stringify(UID_MARK).length),
      count: this.#options.metrics.counting('airlock_admission_decisions_total', labels),
    };
    this.#answers.set(key, answer);
    return answer;
  }

  /** The answer, once its decision is recorded (or refused because it could not be). */
  #decided(
    res: ServerResponse,
    path: ReviewPath,
    request: AdmissionRequest,
    decision: Decision,
    state: AdmissionState,
    started: number,
  ): Routed | Promise<Routed> {
    const answer = this.#answer(path, decision);
    if (request.dryRun || decision.skipped) return this.#send(res, path, request, answer, started);
    const key = `${answer.key}${dedupKey(request, state.digest)}`;
    const last = this.#recorded.get(key);
    if (last !== undefined && Date.now() - last < (this.#options.recordDedupMs ?? 300_000))
      return this.#send(res, path, request, answer, started);
    return this.#options.record(auditRecordOf(path, request, decision)).then(
      () => {
        this.#recorded.set(key, Date.now());
        return this.#send(res, path, request, answer, started);
      },
      (err: unknown) => {
        const why = bounded((err as Error).message, 300);
        this.#options.log({ level: 'error', msg: 'audit record failed', uid: request.uid, error: why });
        const message = `airlock: the decision could not be recorded in the audit trail, so it has no effect (${why})`;
        const response = { uid: request.uid, allowed: false, status: { code: 500, reason: 'InternalError', message } };
        const labels = { path, result: 'denied', mode: modeOf(decision), reason: reasonOf(decision) };
        this.#options.metrics.inc('airlock_admission_decisions_total', labels);
        return this.#write(res, path, request, JSON.stringify(reviewDocument(response)), false, labels.reason, started);
      },
    );
  }

  #send(res: ServerResponse, path: ReviewPath, request: AdmissionRequest, answer: Answer, started: number): Routed {
    answer.count();
    const body = `${answer.head}${JSON.stringify(request.uid)}${answer.tail}`;
    return this.#write(res, path, request, body, answer.allowed, answer.reason, started);
  }

  #write(
    res: ServerResponse,
    path: ReviewPath,
    request: AdmissionRequest,
    body: string,
    allowed: boolean,
    reason: string,
    started: number,
  ): Routed {
    this.#latency[path](elapsedMs(started) / 1000);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return { route: path, extra: { uid: request.uid, allowed, reason } };
  }

  answered(req: IncomingMessage, res: ServerResponse, routed: Routed, started: number): void {
    if (res.statusCode === 200) {
      let count = this.#requests.get(routed.route);
      if (!count) {
        const labels = { route: routed.route, status: '200' };
        this.#requests.set(
          routed.route,
          (count = this.#options.metrics.counting('airlock_admission_requests_total', labels)),
        );
      }
      count();
    } else
      this.#options.metrics.inc('airlock_admission_requests_total', {
        route: routed.route,
        status: String(res.statusCode),
      });
    if (routed.route !== 'healthz' && routed.route !== 'readyz' && routed.route !== 'metrics')
      this.#options.log(answeredRequestEvent(req, res, started, routed.extra));
  }

  failed(req: IncomingMessage, res: ServerResponse, err: unknown, started: number): void {
    const http = err instanceof HttpError ? err : undefined;
    const status = http?.status ?? 500;
    const message = http ? http.message : 'internal error';
    if (!res.headersSent) {
      res.writeHead(status, { 'content-type': 'application/json', ...(http?.headers ?? {}) });
      res.end(JSON.stringify({ code: http?.code ?? 'E_INTERNAL', message }));
    } else res.destroy();
    this.#options.metrics.inc('airlock_admission_requests_total', { route: 'error', status: String(status) });
    this.#options.log(failedRequestEvent(req, status, started, http?.code ?? 'E_INTERNAL', err));
  }
}

function parseReview(body: string): AdmissionRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'E_ADMISSION_REVIEW', 'the body is not JSON');
  }
  try {
    return parseAdmissionReview(doc);
  } catch (err) {
    if (err instanceof AirlockError) throw new HttpError(400, err.code, err.message);
    throw err;
  }
}

/**
 * Two decisions are the same when they say the same of the same images (the answer's key) for the same
 * object under the same policy and material: this is the rest of that identity.
 */
function dedupKey(request: AdmissionRequest, stateDigest: string): string {
  return JSON.stringify([request.operation, request.kind.kind, request.namespace, request.name, stateDigest]);
}
