// `airlock log serve`'s HTTP API: the Rekor v2 write endpoint, the C2SP tlog-tiles read paths,
// health and Prometheus metrics. Reads are static and immutable wherever the spec allows, so any
// cache or mirror in front of the log can serve them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AirlockError } from '../errors.ts';
import type { AppendResult, LogEngine } from '../log/engine.ts';
import { InclusionChecker, leafHash } from '../log/merkle.ts';
import { MAX_REQUEST_BYTES } from '../log/rekor-request.ts';
import { toTransparencyLogEntry } from '../log/rekor-response.ts';
import { encodeEntryBundle, parseTilePath } from '../log/tiles.ts';
import { bounded } from '../text.ts';
import { CompressedCache } from './compressed-cache.ts';
import {
  answeredRequestEvent,
  failedRequestEvent,
  HttpError,
  readBody,
  requestHandler,
  type RequestSteps,
  requestPath,
  type Routed,
} from './http-io.ts';
import { countHttpRequests, type Metrics, MILLISECOND_BUCKETS } from './metrics.ts';
import type { Sequencing } from './log-sequencing.ts';
import type { VerifyPool } from './verify-pool.ts';

export interface LogServerOptions {
  readonly engine: LogEngine;
  /** The 32-byte log ID (checkpoint key ID) returned in every entry. */
  readonly logId: Uint8Array;
  readonly pool: VerifyPool;
  readonly metrics: Metrics;
  /** One structured event per request (the CLI writes them as JSON lines). */
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
  /** On shared storage: whether this process sequences writes now (log-sequencing.ts); else it always does. */
  readonly sequencing?: Pick<Sequencing, 'role' | 'sequencerHolder'>;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Compressed entry bundles kept: a full one is about 100 KiB gzip'd, so the last few hundred read. */
const COMPRESSED_CACHE_BYTES = 32 * 1024 * 1024;

/** Whether Accept-Encoding admits gzip (RFC 9110 §12.5.3): listed, or `*`, with a q-value above 0. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const codings = new Map<string, number>();
  for (const part of String(header ?? '').split(',')) {
    const [name = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (name) codings.set(name, q === undefined ? 1 : Number(q.slice(2)) || 0);
  }
  return (codings.get('gzip') ?? codings.get('x-gzip') ?? codings.get('*') ?? 0) > 0;
}

/** A write the storage refused because another process took over sequencing: what a standby answers. */
function fencedAs503(err: unknown): unknown {
  if (!(err instanceof AirlockError) || err.code !== 'E_NOT_SEQUENCER') return err;
  return new HttpError(503, err.code, err.message, {
    headers: { 'retry-after': '1' },
    ...(err.hint ? { hint: err.hint } : {}),
  });
}

/** Registers the metrics the server and engine report. */
export function registerLogMetrics(metrics: Metrics, engine: () => LogEngine | undefined): void {
  metrics.gauge(
    'airlock_log_tree_size',
    'Entries in the log (size of the latest checkpoint).',
    () => engine()?.size ?? 0,
  );
  metrics.counter('airlock_log_entries_appended_total', 'Entries appended.');
  metrics.counter('airlock_log_entries_duplicate_total', 'Requests for entries already in the log.');
  metrics.histogram(
    'airlock_log_batch_size',
    'Entries per committed batch (group commit).',
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  );
  metrics.histogram(
    'airlock_log_batch_seconds',
    'Time to sequence, sign and durably commit a batch.',
    MILLISECOND_BUCKETS,
  );
  metrics.histogram(
    'airlock_log_write_seconds',
    'Write latency: request received to entry acknowledged.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  countHttpRequests(metrics);
}

export function createLogHandler(options: LogServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return requestHandler(new LogApi(options));
}

/** The log's routes, and one log line and one count per request, whatever its outcome. */
class LogApi implements RequestSteps {
  readonly #options: LogServerOptions;
  readonly #engine: LogEngine;
  readonly #metrics: Metrics;
  readonly #compressed = new CompressedCache(COMPRESSED_CACHE_BYTES);
  // The entries of one batch are answered with one checkpoint: their proofs are checked together.
  #checker: InclusionChecker | undefined;

  constructor(options: LogServerOptions) {
    this.#options = options;
    this.#engine = options.engine;
    this.#metrics = options.metrics;
  }

  async route(req: IncomingMessage, res: ServerResponse, started: number): Promise<Routed> {
    const pathname = requestPath(req);
    const path = pathname.replace(/^\/api\/v2\//, '/').slice(1);
    if (path === 'log/entries') {
      if (req.method !== 'POST')
        throw new HttpError(405, 'E_USAGE', 'POST a Rekor v2 CreateEntryRequest here', { headers: { allow: 'POST' } });
      return { route: 'entries', extra: await this.#createEntry(req, res, started) };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, 'E_USAGE', `${req.method} is not served here`, { headers: { allow: 'GET, HEAD' } });
    if (this.#readStatic(path, res)) return { route: path };
    if (path.startsWith('tile/')) {
      await this.#readTile(path, req, res);
      return { route: path.startsWith('tile/entries/') ? 'entry-bundle' : 'tile' };
    }
    throw new HttpError(404, 'E_INPUT_MISSING', `no such resource: ${bounded(pathname)}`);
  }

  /** Answers the checkpoint, health and metrics, whose route is their path; false for any other path. */
  #readStatic(path: string, res: ServerResponse): boolean {
    const engine = this.#engine;
    if (path === 'checkpoint') {
      res
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' })
        .end(engine.checkpoint);
      return true;
    }
    if (path === 'healthz') {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ status: 'ok', origin: engine.origin, size: engine.size, role: this.#role() }));
      return true;
    }
    if (path === 'metrics') {
      res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' })
        .end(this.#metrics.render());
      return true;
    }
    return false;
  }

  async #createEntry(req: IncomingMessage, res: ServerResponse, started: number): Promise<Record<string, unknown>> {
    // Media types are case-insensitive (RFC 9110 §8.3.1); parameters (charset) do not change JSON.
    if ((req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() !== 'application/json') {
      throw new HttpError(415, 'E_INPUT_MALFORMED', 'send the request as Content-Type: application/json');
    }
    // Before the request is read and checked: a standby has nothing to do with it.
    this.#refuseUnlessSequencer();
    const entry = await this.#verifiedEntry(req);
    const result = await this.#engine.append(entry);
    this.#metrics.inc(result.duplicate ? 'airlock_log_entries_duplicate_total' : 'airlock_log_entries_appended_total');
    const tle = await this.#entryResponse(entry, result);
    this.#metrics.observe('airlock_log_write_seconds', (performance.now() - started) / 1000);
    // A duplicate answers 409 with X-Log-Index as Rekor v2 does, and (friendlier) the existing entry.
    const json = JSON.stringify(tle);
    // Sized, not chunked: one write, and framing any client reads the same way.
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(json)),
      ...(result.duplicate ? { 'x-log-index': String(result.index) } : {}),
    };
    res.writeHead(result.duplicate ? 409 : 201, headers).end(json);
    return { index: result.index, duplicate: result.duplicate, size: result.size };
  }

  #role(): string {
    return this.#options.sequencing?.role() ?? 'sequencer';
  }

  #refuseUnlessSequencer(): void {
    if (this.#role() === 'sequencer') return;
    const holder = this.#options.sequencing?.sequencerHolder();
    throw new HttpError(
      503,
      'E_NOT_SEQUENCER',
      `this log process is a standby: another process sequences writes${holder ? ` (${bounded(holder, 120)})` : ''}`,
      { headers: { 'retry-after': '1' }, hint: 'send writes to the sequencer; a standby takes over when it stops' },
    );
  }

  /** The entry a request asks for, checked by the pool; the request's own faults are a 400. */
  async #verifiedEntry(req: IncomingMessage): Promise<Uint8Array> {
    try {
      return await this.#options.pool.verify(await readBody(req, MAX_REQUEST_BYTES));
    } catch (err) {
      // The request's own refusal; not the pool closing (503) or failing (500).
      if (err instanceof AirlockError && err.exitCode !== 4 && err.code !== 'E_UNAVAILABLE')
        throw new HttpError(400, err.code, err.message, err.hint ? { hint: err.hint } : {});
      throw err;
    }
  }

  async #entryResponse(body: Uint8Array, { index, size, root: rootHash, checkpoint }: AppendResult) {
    const inclusionHashes = await this.#engine.inclusionProof(index, size);
    if (this.#checker?.size !== size || !this.#checker.root.equals(rootHash)) {
      this.#checker = new InclusionChecker(size, rootHash);
    }
    // Rekor v2 does the same: a proof that does not verify is never handed out.
    if (!this.#checker.verify(index, leafHash(body), inclusionHashes)) {
      throw new AirlockError('E_LOG_CORRUPT', `the inclusion proof for entry ${index} at size ${size} does not verify`);
    }
    return toTransparencyLogEntry({
      logIndex: index,
      logId: this.#options.logId,
      body,
      inclusionHashes,
      checkpoint,
      treeSize: size,
      rootHash,
    });
  }

  async #readTile(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const tile = parseTilePath(path);
    if (!tile) throw new HttpError(404, 'E_INPUT_MISSING', `no such resource: /${bounded(path)}`);
    // Full tiles never change; a partial one of width W is a fixed prefix too (we never rewrite them).
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'cache-control': IMMUTABLE };
    const missing = () => new HttpError(404, 'E_INPUT_MISSING', `not in the log (yet): /${bounded(path)}`);
    if (tile.kind === 'entries' && acceptsGzip(req.headers['accept-encoding'])) {
      const gzipped = await this.#gzippedBundle(tile.index, tile.width);
      if (!gzipped) throw missing();
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', vary: 'Accept-Encoding' }).end(gzipped);
      return;
    }
    let body: Buffer | undefined;
    if (tile.kind === 'hash') body = await this.#engine.readTile(tile.level, tile.index, tile.width);
    else {
      const entries = await this.#engine.readEntries(tile.index, tile.width);
      body = entries && encodeEntryBundle(entries);
    }
    if (!body) throw missing();
    res.writeHead(200, headers).end(body);
  }

  /** An entry bundle gzip'd, or undefined when the log does not hold it (yet). */
  async #gzippedBundle(index: number, width: number): Promise<Buffer | undefined> {
    // Kept once compressed: a bundle that was served exists, and is the same bytes forever.
    const key = `${index}.p${width}`;
    const kept = this.#compressed.get(key);
    if (kept) return kept;
    const entries = await this.#engine.readEntries(index, width);
    return entries && this.#compressed.gzip(key, encodeEntryBundle(entries));
  }

  answered(req: IncomingMessage, res: ServerResponse, { route, extra }: Routed, started: number): void {
    this.#metrics.inc('airlock_http_requests_total', { route, status: String(res.statusCode) });
    this.#options.log(answeredRequestEvent(req, res, started, extra));
  }

  failed(req: IncomingMessage, res: ServerResponse, raised: unknown, started: number): void {
    const err = fencedAs503(raised);
    const known = err instanceof HttpError;
    const status = known ? err.status : err instanceof AirlockError && err.code === 'E_UNAVAILABLE' ? 503 : 500;
    const code = known ? err.code : err instanceof AirlockError ? err.code : 'E_INTERNAL';
    // A failure inside the log is the operator's to read in the logs, not the client's; a refusal
    // the log means (no witness quorum: 503) says what it is.
    const message =
      status >= 500 && !known ? 'the log could not complete the request; see its logs' : (err as Error).message;
    const hint = known ? err.hint : undefined;
    if (!res.headersSent)
      res
        .writeHead(status, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          ...(known ? err.headers : {}),
        })
        .end(JSON.stringify({ code, message, ...(hint ? { hint } : {}) }));
    else res.destroy();
    this.#metrics.inc('airlock_http_requests_total', { route: 'error', status: String(status) });
    this.#options.log(failedRequestEvent(req, status, started, code, err));
  }
}
