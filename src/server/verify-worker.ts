// A worker thread that validates Rekor v2 requests, signature check included: parsing, canonical
// bodies and signature checks (tenths of a millisecond natively, milliseconds when ECDSA falls back
// to @noble/curves in JavaScript) run here, off the thread that serves requests and commits batches.
import { parentPort } from 'node:worker_threads';
import { AirlockError } from '../errors.ts';
import { parseCreateEntryRequest } from '../log/rekor-entry.ts';
import { type VerifyReply, type VerifyRequest, WORKER_READY } from './verify-worker-protocol.ts';

/** One request checked; any failure becomes its refusal, never the worker's. */
function verifyRequest(req: VerifyRequest): VerifyReply {
  try {
    return { id: req.id, ok: true, entry: parseCreateEntryRequest(JSON.parse(req.body)).body };
  } catch (err) {
    const code = err instanceof AirlockError ? err.code : err instanceof SyntaxError ? 'E_INPUT_MALFORMED' : 'E_INTERNAL';
    const hint = err instanceof AirlockError ? err.hint : undefined;
    return { id: req.id, ok: false, code, message: err instanceof SyntaxError ? `the request is not JSON: ${err.message}` : (err as Error).message, ...(hint ? { hint } : {}) };
  }
}

// The pool sends the requests of one event-loop turn together; they come back together.
parentPort?.on('message', (requests: VerifyRequest[]) => {
  parentPort?.postMessage(requests.map(verifyRequest));
});

// Every import above has loaded by now: the pool may send work.
parentPort?.postMessage(WORKER_READY);
