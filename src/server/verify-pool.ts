// A fixed pool of verify workers; each request goes to the worker with the fewest in flight. Requests
// that arrive in one turn of the event loop go to a worker as one message, and come back as one: under
// load a message per request cost the serving thread more than the RSA checks cost the workers.
import { Worker } from 'node:worker_threads';
import { AirlockError, type ErrorCode } from '../errors.ts';
import { type VerifyReply, type VerifyRequest, WORKER_READY } from './verify-worker-protocol.ts';

interface Slot {
  readonly worker: Worker;
  busy: number;
  outbox: VerifyRequest[];
}

export class VerifyPool {
  readonly #workers: Slot[];
  readonly #waiting = new Map<number, { resolve: (entry: Uint8Array) => void; reject: (err: Error) => void; slot: Slot }>();
  readonly #ready: Promise<unknown>;
  #next = 0;

  constructor(size: number) {
    const loaded: Array<Promise<void>> = [];
    this.#workers = Array.from({ length: Math.max(1, size) }, () => {
      const slot: Slot = { worker: new Worker(new URL('./verify-worker.ts', import.meta.url)), busy: 0, outbox: [] };
      loaded.push(
        new Promise((resolve, reject) => {
          // The worker's first message says its modules are loaded. Until then it keeps the process
          // alive (ready() may be all there is to wait for); after, what serves does.
          slot.worker.once('message', () => {
            slot.worker.unref();
            resolve();
          });
          slot.worker.once('error', reject);
        }),
      );
      slot.worker.on('message', (replies: VerifyReply[] | typeof WORKER_READY) => {
        if (replies === WORKER_READY) return;
        for (const reply of replies) this.#settle(reply);
      });
      // A worker that dies takes its requests with it: fail them rather than hang the clients.
      slot.worker.on('error', (err) => {
        slot.outbox = [];
        for (const [id, w] of this.#waiting) {
          if (w.slot !== slot) continue;
          this.#waiting.delete(id);
          w.reject(new AirlockError('E_INTERNAL', `verify worker failed: ${err.message}`));
        }
      });
      return slot;
    });
    this.#ready = Promise.all(loaded);
    this.#ready.catch(() => undefined); // reported by ready(), when asked
  }

  /**
   * Resolves once every worker has loaded its modules (hundreds of milliseconds): a server that
   * listens before would make its first clients wait for them. Rejects if a worker cannot start.
   */
  async ready(): Promise<void> {
    try {
      await this.#ready;
    } catch (err) {
      throw new AirlockError('E_INTERNAL', `a verify worker did not start: ${(err as Error).message}`);
    }
  }

  #settle(reply: VerifyReply): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    waiter.slot.busy--;
    if (reply.ok) waiter.resolve(reply.entry);
    else waiter.reject(new AirlockError(reply.code as ErrorCode, reply.message, reply.hint ? { hint: reply.hint } : {}));
  }

  /** The canonical entry for a Rekor v2 request body, or the refusal with its code. */
  verify(body: string): Promise<Uint8Array> {
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.#next++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, slot });
      slot.outbox.push({ id, body });
      if (slot.outbox.length === 1) {
        setImmediate(() => {
          const requests = slot.outbox;
          slot.outbox = [];
          if (requests.length > 0) slot.worker.postMessage(requests);
        });
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}
