// A worker thread that validates Rekor v2 requests, signature check included: parsing, canonical
// bodies and signature checks (tenths of a millisecond natively, milliseconds when ECDSA falls back
// to @noble/curves in JavaScript) run here, off the thread that serves requests and commits batches.
import { parentPort } from 'node:worker_threads';
import { AirlockError } from '../errors.ts';
import { parseCreateEntryRequest } from '../log/rekor-request.ts';
import { type VerifyReply, type VerifyRequest, WORKER_READY } from './verify-worker-protocol.ts';

/**
 * One request checked; any failure becomes its refusal, never the worker's. Whatever a parser of the
 * client's bytes throws means the request could not be parsed (400), coded or not.
 */
function verifyRequest(req: VerifyRequest): VerifyReply {
  try {
    return { id: req.id, ok: true, entry: parseCreateEntryRequest(JSON.parse(req.body)).body };
  } catch (err) {
    const known = err instanceof AirlockError;
    const message =
      err instanceof SyntaxError
        ? `the request is not JSON: ${err.message}`
        : known
          ? err.message
          : `the request could not be parsed: ${(err as Error).message}`;
    return {
      id: req.id,
      ok: false,
      code: known ? err.code : 'E_INPUT_MALFORMED',
      message,
      ...(known && err.hint ? { hint: err.hint } : {}),
    };
  }
}

// The pool sends the requests of one event-loop turn together; they come back together.
parentPort?.on('message', (requests: VerifyRequest[]) => {
  parentPort?.postMessage(requests.map(verifyRequest));
});

// Every import above has loaded by now: the pool may send work.
parentPort?.postMessage(WORKER_READY);
