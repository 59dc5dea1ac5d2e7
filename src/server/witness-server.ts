// `airlock log witness --listen`'s HTTP API, C2SP tlog-witness v1.0.0: logs POST /add-checkpoint and
// get a cosignature line back; monitors GET /<hex(SHA-256(origin))>/checkpoint for the latest
// checkpoint this witness cosigned. Answers are plain text as the spec has them (omniwitness does the
// same); a 409 carries the size last cosigned as text/x.tlog.size. Plus /healthz and /metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAirlockError } from '../errors.ts';
import type { CheckpointWitness } from '../log/checkpoint-witness.ts';
import {
  ADD_CHECKPOINT_PATH,
  formatTlogSize,
  MAX_ADD_CHECKPOINT_BYTES,
  parseAddCheckpoint,
  TLOG_SIZE_CONTENT_TYPE,
  witnessCheckpointPath,
} from '../log/witness-protocol.ts';
import { bounded } from '../text.ts';
import {
  answeredRequestEvent,
  failedRequestEvent,
  HttpError,
  readBody,
  requestHandler,
  requestPath,
  requestPathOrUndefined,
  type RequestSteps,
  type Routed,
} from './http-io.ts';
import { countHttpRequests, Metrics, MILLISECOND_BUCKETS } from './metrics.ts';

export interface WitnessServerOptions {
  readonly witness: CheckpointWitness;
  /** The origins the witness follows, for the monitoring paths. */
  readonly origins: readonly string[];
  /** One structured event per request (the CLI writes them as JSON lines). */
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  /** Served at /metrics (Prometheus text); a fresh set when not given. */
  readonly metrics?: Metrics;
}

/** What a witness's operator watches: cosignatures per log, and every add-checkpoint answer by status. */
function witnessMetrics(): Metrics {
  const metrics = new Metrics();
  metrics.counter('airlock_witness_cosignatures_total', 'Checkpoints cosigned, by log origin.');
  metrics.counter(
    'airlock_witness_add_checkpoint_total',
    'add-checkpoint requests by answer status (409: the log was behind or ahead; 422: a proof ' +
      'that failed, evidence of a fork or rewrite).',
  );
  metrics.histogram(
    'airlock_witness_add_checkpoint_seconds',
    'Time to answer add-checkpoint, state saved and recorded included.',
    MILLISECOND_BUCKETS,
  );
  countHttpRequests(metrics);
  return metrics;
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

export function createWitnessHandler(
  options: WitnessServerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return requestHandler(new WitnessApi(options));
}

/** The witness's routes, and one log line and one count per request, whatever its outcome. */
class WitnessApi implements RequestSteps {
  readonly #options: WitnessServerOptions;
  readonly #witness: CheckpointWitness;
  readonly #metrics: Metrics;
  readonly #byPath: Map<string, string>;

  constructor(options: WitnessServerOptions) {
    this.#options = options;
    this.#witness = options.witness;
    this.#metrics = options.metrics ?? witnessMetrics();
    this.#byPath = new Map(options.origins.map((o) => [witnessCheckpointPath(o), o]));
  }

  async route(req: IncomingMessage, res: ServerResponse): Promise<Routed> {
    const path = requestPath(req).slice(1);
    if (path === ADD_CHECKPOINT_PATH) return { route: 'add-checkpoint', extra: await this.#addCheckpoint(req, res) };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, 'E_USAGE', `${req.method} is not served here`, { headers: { allow: 'GET, HEAD' } });
    if (path === 'metrics') {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' })
        .end(this.#metrics.render());
      return { route: 'metrics' };
    }
    if (path === 'healthz') {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ status: 'ok', logs: this.#options.origins.length }));
      return { route: 'healthz' };
    }
    return this.#latestCheckpoint(path, res);
  }

  #latestCheckpoint(path: string, res: ServerResponse): Routed {
    const origin = this.#byPath.get(path);
    const latest = origin === undefined ? undefined : this.#witness.latest(origin);
    if (!latest)
      throw new HttpError(
        404,
        'E_INPUT_MISSING',
        origin === undefined ? `no such resource: /${bounded(path)}` : `nothing cosigned for ${origin} yet`,
      );
    res.writeHead(200, { ...TEXT, 'cache-control': 'no-cache' }).end(latest.checkpoint);
    return { route: 'checkpoint', extra: { origin } };
  }

  async #addCheckpoint(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown>> {
    if (req.method !== 'POST')
      throw new HttpError(405, 'E_USAGE', 'POST a tlog-witness add-checkpoint request here', {
        headers: { allow: 'POST' },
      });
    let request;
    try {
      request = parseAddCheckpoint(await readBody(req, MAX_ADD_CHECKPOINT_BYTES));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'E_INPUT_MALFORMED', (err as Error).message);
    }
    const outcome = await this.#witness.addCheckpoint(request);
    if (!outcome.ok) {
      if (outcome.status === 409) {
        res
          .writeHead(409, { ...TEXT, 'content-type': TLOG_SIZE_CONTENT_TYPE })
          .end(formatTlogSize(outcome.latestSize ?? 0));
        return { old: request.oldSize, latest: outcome.latestSize };
      }
      throw new HttpError(outcome.status, outcome.code, outcome.message);
    }
    res.writeHead(200, TEXT).end(outcome.cosignature);
    this.#metrics.inc('airlock_witness_cosignatures_total', { origin: outcome.origin });
    return { origin: outcome.origin, old: request.oldSize, size: outcome.size };
  }

  #count(name: string, status: number, started: number): void {
    this.#metrics.inc('airlock_http_requests_total', { route: name, status: String(status) });
    if (name !== 'add-checkpoint') return;
    this.#metrics.inc('airlock_witness_add_checkpoint_total', { status: String(status) });
    this.#metrics.observe('airlock_witness_add_checkpoint_seconds', (performance.now() - started) / 1000);
  }

  answered(req: IncomingMessage, res: ServerResponse, { route, extra }: Routed, started: number): void {
    this.#count(route, res.statusCode, started);
    this.#options.log(answeredRequestEvent(req, res, started, extra, { route }));
  }

  failed(req: IncomingMessage, res: ServerResponse, err: unknown, started: number): void {
    const known = err instanceof HttpError;
    const status = known ? err.status : 500;
    // A failure to sign or to save state is the operator's to read in the logs.
    const message = known ? err.message : 'the witness could not complete the request; see its logs';
    if (!res.headersSent) res.writeHead(status, { ...TEXT, ...(known ? err.headers : {}) }).end(`${message}\n`);
    else res.destroy();
    const code = known || isAirlockError(err) ? err.code : 'E_INTERNAL';
    this.#count(
      requestPathOrUndefined(req) === `/${ADD_CHECKPOINT_PATH}` ? 'add-checkpoint' : 'error',
      status,
      started,
    );
    this.#options.log(failedRequestEvent(req, status, started, code, err));
  }
}
