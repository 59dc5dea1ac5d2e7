// A worker thread that validates Rekor v2 requests, signature check included. The prehash signature
// checks run in JavaScript (@noble/curves: node:crypto cannot verify over a given digest) and take
// milliseconds each, so they run here, off the thread that serves requests and commits batches.
import { parentPort } from 'node:worker_threads';
import { AirlockError } from '../errors.ts';
import { parseCreateEntryRequest } from '../log/rekor-entry.ts';

export type VerifyRequest = { readonly id: number; readonly body: string };
export type VerifyReply = { readonly id: number; readonly ok: true; readonly entry: Uint8Array } | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string; readonly hint?: string };

parentPort?.on('message', (req: VerifyRequest) => {
  let reply: VerifyReply;
  try {
    reply = { id: req.id, ok: true, entry: parseCreateEntryRequest(JSON.parse(req.body)).body };
  } catch (err) {
    const code = err instanceof AirlockError ? err.code : err instanceof SyntaxError ? 'E_INPUT_MALFORMED' : 'E_INTERNAL';
    const hint = err instanceof AirlockError ? err.hint : undefined;
    reply = { id: req.id, ok: false, code, message: err instanceof SyntaxError ? `the request is not JSON: ${err.message}` : (err as Error).message, ...(hint ? { hint } : {}) };
  }
  parentPort?.postMessage(reply);
});
