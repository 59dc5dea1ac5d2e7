// A stand-in verify worker for the pool's failure tests: answers each body with its own bytes, throws
// (killing the worker) on the body "crash", and with CRASHING_WORKER_EARLY set exits before it loads.
import { parentPort } from 'node:worker_threads';
import type { VerifyReply, VerifyRequest } from '../../src/server/verify-worker-protocol.ts';

if (process.env.CRASHING_WORKER_EARLY) process.exit(3);
parentPort?.on('message', (requests: VerifyRequest[]) => {
  if (requests.some((r) => r.body === 'crash')) throw new Error('crashed on cue');
  parentPort?.postMessage(requests.map((r): VerifyReply => ({ id: r.id, ok: true, entry: Buffer.from(r.body) })));
});
parentPort?.postMessage('ready');
