// What the verify pool and its workers send each other. Apart from the worker so the pool (on the
// serving thread) does not load the worker's modules.
export type VerifyRequest = { readonly id: number; readonly body: string };
export type VerifyReply =
  | { readonly id: number; readonly ok: true; readonly entry: Uint8Array }
  | {
      readonly id: number;
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly hint?: string;
    };

/** A worker's first message: its modules are loaded. */
export const WORKER_READY = 'ready';
