// `airlock log witness --listen`'s HTTP API, C2SP tlog-witness v1.0.0: logs POST /add-checkpoint and
// get a cosignature line back; monitors GET /<hex(SHA-256(origin))>/checkpoint for the latest
// checkpoint this witness cosigned. Answers are plain text as the spec has them (omniwitness does the
// same); a 409 carries the size last cosigned as text/x.tlog.size. Plus /healthz.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAirlockError } from '../errors.ts';
import type { CheckpointWitness } from '../log/checkpoint-witness.ts';
import { ADD_CHECKPOINT_PATH, formatTlogSize, MAX_ADD_CHECKPOINT_BYTES, parseAddCheckpoint, TLOG_SIZE_CONTENT_TYPE, witnessCheckpointPath } from '../log/witness-protocol.ts';
import { elapsedMs, HttpError, readBody } from './http-io.ts';

export interface WitnessServerOptions {
  readonly witness: CheckpointWitness;
  /** The origins the witness follows, for the monitoring paths. */
  readonly origins: readonly string[];
  /** One structured event per request (the CLI writes them as JSON lines). */
  readonly log: (event: Readonly<Record<string, unknown>>) => void;
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

export function createWitnessHandler(options: WitnessServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { witness } = options;
  const byPath = new Map(options.origins.map((o) => [witnessCheckpointPath(o), o]));

  async function addCheckpoint(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown>> {
    if (req.method !== 'POST') throw new HttpError(405, 'E_USAGE', 'POST a tlog-witness add-checkpoint request here', { headers: { allow: 'POST' } });
    let request;
    try {
      request = parseAddCheckpoint(await readBody(req, MAX_ADD_CHECKPOINT_BYTES));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'E_INPUT_MALFORMED', (err as Error).message);
    }
    const outcome = await witness.addCheckpoint(request);
    if (!outcome.ok) {
      if (outcome.status === 409) {
        res.writeHead(409, { ...TEXT, 'content-type': TLOG_SIZE_CONTENT_TYPE }).end(formatTlogSize(outcome.latestSize ?? 0));
        return { old: request.oldSize, latest: outcome.latestSize };
      }
      throw new HttpError(outcome.status, outcome.code, outcome.message);
    }
    res.writeHead(200, TEXT).end(outcome.cosignature);
    return { origin: outcome.origin, old: request.oldSize, size: outcome.size };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<{ route: string; extra?: Record<string, unknown> }> {
    const path = new URL(req.url ?? '/', 'http://witness.invalid').pathname.slice(1);
    if (path === ADD_CHECKPOINT_PATH) return { route: 'add-checkpoint', extra: await addCheckpoint(req, res) };
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'E_USAGE', `${req.method} is not served here`, { headers: { allow: 'GET, HEAD' } });
    if (path === 'healthz') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ status: 'ok', logs: options.origins.length }));
      return { route: 'healthz' };
    }
    const origin = byPath.get(path);
    const latest = origin === undefined ? undefined : witness.latest(origin);
    if (!latest) throw new HttpError(404, 'E_INPUT_MISSING', origin === undefined ? `no such resource: /${path}` : `nothing cosigned for ${origin} yet`);
    res.writeHead(200, { ...TEXT, 'cache-control': 'no-cache' }).end(latest.checkpoint);
    return { route: 'checkpoint', extra: { origin } };
  }

  return (req, res) => {
    const started = performance.now();
    route(req, res).then(
      ({ route: name, extra }) => options.log({ msg: 'request', route: name, method: req.method, path: req.url, status: res.statusCode, ms: elapsedMs(started), ...extra }),
      (err: unknown) => {
        const known = err instanceof HttpError;
        const status = known ? err.status : 500;
        // A failure to sign or to save state is the operator's to read in the logs.
        const message = known ? err.message : 'the witness could not complete the request; see its logs';
        if (!res.headersSent) res.writeHead(status, { ...TEXT, ...(known ? err.headers : {}) }).end(`${message}\n`);
        else res.destroy();
        const code = known || isAirlockError(err) ? err.code : 'E_INTERNAL';
        options.log({ msg: 'request', level: status >= 500 ? 'error' : 'info', method: req.method, path: req.url, status, ms: elapsedMs(started), code, error: (err as Error).message });
      },
    );
  };
}
