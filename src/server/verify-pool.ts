// A fixed pool of verify workers; each request goes to the worker with the fewest in flight. Requests
// that arrive in one turn of the event loop go to a worker as one message, and come back as one: under
// load a message per request cost the serving thread more than the RSA checks cost the workers.
// A worker that dies fails what it held and is replaced, so one crash cannot leave requests hanging.
import { Worker } from 'node:worker_threads';
import { AirlockError, type ErrorCode } from '../errors.ts';
import { type VerifyReply, type VerifyRequest, WORKER_READY } from './verify-worker-protocol.ts';

/** One worker place in the pool; its worker is replaced in place when it dies (VerifyPool.#start). */
class Slot {
  worker!: Worker;
  /** Settles once the current worker has loaded its modules; rejects if it dies before. */
  ready!: Promise<void>;
  busy = 0;
  outbox: VerifyRequest[] = [];
  /** Its worker died before it ever loaded, and was not replaced. */
  dead = false;
}

interface Waiter {
  readonly resolve: (entry: Uint8Array) => void;
  readonly reject: (err: Error) => void;
  readonly slot: Slot;
  readonly worker: Worker;
}

export class VerifyPool {
  readonly #slots: Slot[];
  readonly #waiting = new Map<number, Waiter>();
  readonly #workerUrl: URL;
  #next = 0;
  #closed = false;

  /** `workerUrl` is for tests (a worker that crashes on cue); the default is verify-worker.ts. */
  constructor(size: number, workerUrl = new URL('./verify-worker.ts', import.meta.url)) {
    this.#workerUrl = workerUrl;
    this.#slots = Array.from({ length: Math.max(1, size) }, () => {
      const slot = new Slot();
      this.#start(slot);
      return slot;
    });
  }

  #start(slot: Slot): void {
    const worker = new Worker(this.#workerUrl);
    let loaded = false;
    let gone = false;
    slot.worker = worker;
    slot.busy = 0;
    slot.outbox = [];
    slot.ready = new Promise<void>((resolve, reject) => {
      // The worker's first message says its modules are loaded. Until then it keeps the process
      // alive (ready() may be all there is to wait for); after, what serves does.
      worker.once('message', () => {
        loaded = true;
        worker.unref();
        resolve();
      });
      const died = (why: string) => {
        if (gone) return;
        gone = true;
        const err = new AirlockError('E_INTERNAL', `verify worker failed: ${why}`);
        for (const [id, w] of this.#waiting) {
          if (w.worker !== worker) continue;
          this.#waiting.delete(id);
          w.reject(err);
        }
        if (!loaded) {
          slot.dead = true;
          return reject(err);
        }
        // One that had loaded crashed on a request: replace it. One that never loaded would only fail
        // again; ready() reports it instead.
        if (!this.#closed) this.#start(slot);
      };
      worker.on('error', (err) => died(err.message));
      worker.on('exit', (code) => died(`exited with code ${code}`));
    });
    slot.ready.catch(() => undefined); // reported by ready(), when asked
    worker.on('message', (replies: VerifyReply[] | typeof WORKER_READY) => {
      if (replies === WORKER_READY) return;
      for (const reply of replies) this.#settle(reply);
    });
  }

  #settle(reply: VerifyReply): void {
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    waiter.slot.busy--;
    if (reply.ok) waiter.resolve(reply.entry);
    else
      waiter.reject(new AirlockError(reply.code as ErrorCode, reply.message, reply.hint ? { hint: reply.hint } : {}));
  }

  /**
   * Resolves once every worker has loaded its modules (hundreds of milliseconds): a server that
   * listens before would make its first clients wait for them. Rejects if a worker cannot start.
   */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.ready));
  }

  /** The canonical entry for a Rekor v2 request body, or the refusal with its code. */
  verify(body: string): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new AirlockError('E_UNAVAILABLE', 'the verify pool is closed'));
    const slot = this.#slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    if (slot.dead) return Promise.reject(new AirlockError('E_INTERNAL', 'a verify worker did not start'));
    const id = this.#next++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, slot, worker: slot.worker });
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
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
