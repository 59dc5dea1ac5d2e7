// Atomic writes of small files (writeSmallFileAtomic) done on a worker thread, for a server that
// writes one on every batch (`log serve`'s last-signed checkpoint). On the serving thread the rename
// blocked it, and each of the two fsyncs waited a whole event-loop turn for its answer, so under load
// a batch's publication took about twice as long as the worker's single answer does.
import { Worker } from 'node:worker_threads';
import { AirlockError, type ErrorCode } from '../errors.ts';

export interface WriteRequest {
  readonly id: number;
  readonly path: string;
  readonly data: string;
  readonly mode: number;
}

export type WriteReply =
  | { readonly id: number; readonly ok: true }
  | { readonly id: number; readonly ok: false; readonly code: ErrorCode; readonly message: string };

export interface SmallFileWriter {
  /** writeSmallFileAtomic(path, data, mode), on the worker: the same steps, errors and guarantees. */
  write(path: string, data: string, mode?: number): Promise<void>;
  /** Waits for the writes in flight, then stops the worker. */
  close(): Promise<void>;
}

/** `workerUrl` is for tests (a worker that dies on cue). */
export function smallFileWriter(
  workerUrl = new URL('./small-file-writer-worker.ts', import.meta.url),
): SmallFileWriter {
  let worker: Worker | undefined;
  let next = 0;
  let closed = false;
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  /** close() calls waiting for the writes in flight. */
  const idle: Array<() => void> = [];

  const settled = () => {
    if (waiting.size > 0) return;
    // Idle, it must not keep the process alive; a write in flight must (see write).
    worker?.unref();
    for (const resolve of idle.splice(0)) resolve();
  };

  const start = (): Worker => {
    const w = new Worker(workerUrl);
    w.unref();
    w.on('message', (reply: WriteReply) => {
      const waiter = waiting.get(reply.id);
      if (!waiter) return;
      waiting.delete(reply.id);
      if (reply.ok) waiter.resolve();
      else waiter.reject(new AirlockError(reply.code, reply.message));
      settled();
    });
    const died = (why: string) => {
      if (worker !== w) return;
      // The next write starts another; what this one held failed (the file is the old one or the new
      // one: a rename is atomic).
      worker = undefined;
      const err = new AirlockError('E_INTERNAL', `the file-writing worker failed: ${why}`);
      for (const waiter of waiting.values()) waiter.reject(err);
      waiting.clear();
      settled();
    };
    w.on('error', (err) => died(err.message));
    w.on('exit', (code) => died(`exited with code ${code}`));
    return w;
  };

  return {
    write(path, data, mode = 0o644) {
      if (closed) return Promise.reject(new AirlockError('E_INTERNAL', 'the file writer is closed'));
      worker ??= start();
      const w = worker;
      const id = next++;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, path, data, mode } satisfies WriteRequest);
      });
    },
    async close() {
      closed = true;
      if (waiting.size > 0) await new Promise<void>((resolve) => idle.push(resolve));
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
