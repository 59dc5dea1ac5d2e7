// A fixed pool of verify workers; each request goes to the worker with the fewest in flight.
import { Worker } from 'node:worker_threads';
import { AirlockError, type ErrorCode } from '../errors.ts';
import type { VerifyReply } from './verify-worker.ts';

export class VerifyPool {
  readonly #workers: Array<{ worker: Worker; busy: number }>;
  readonly #waiting = new Map<number, { resolve: (entry: Uint8Array) => void; reject: (err: Error) => void; slot: { busy: number } }>();
  #next = 0;

  constructor(size: number) {
    this.#workers = Array.from({ length: Math.max(1, size) }, () => {
      const slot = { worker: new Worker(new URL('./verify-worker.ts', import.meta.url)), busy: 0 };
      slot.worker.on('message', (reply: VerifyReply) => {
        const waiter = this.#waiting.get(reply.id);
        if (!waiter) return;
        this.#waiting.delete(reply.id);
        waiter.slot.busy--;
        if (reply.ok) waiter.resolve(reply.entry);
        else waiter.reject(new AirlockError(reply.code as ErrorCode, reply.message, reply.hint ? { hint: reply.hint } : {}));
      });
      // A worker that dies takes its requests with it: fail them rather than hang the clients.
      slot.worker.on('error', (err) => {
        for (const [id, w] of this.#waiting) {
          if (w.slot !== slot) continue;
          this.#waiting.delete(id);
          w.reject(new AirlockError('E_INTERNAL', `verify worker failed: ${err.message}`));
        }
      });
      slot.worker.unref();
      return slot;
    });
  }

  /** The canonical entry for a Rekor v2 request body, or the refusal with its code. */
  verify(body: string): Promise<Uint8Array> {
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.#next++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ id, body });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
