// Certificates per identity per interval: a token that leaks (or a runaway CI loop) cannot make the
// CA mint without bound, and one noisy identity cannot starve the others. A fixed window per key in a
// bounded map, so a flood of distinct identities costs bounded memory (the identity seen least
// recently is forgotten first: at worst it gets a fresh window early).
import { BoundedMap } from '../bounded-map.ts';

export interface RateLimitOptions {
  /** Certificates one identity may get per window; 0 turns the limit off. */
  readonly perWindow: number;
  readonly windowMs: number;
  /** Identities tracked at once. */
  readonly maxKeys?: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

interface Window {
  start: number;
  count: number;
}

export class RateLimiter {
  readonly #options: RateLimitOptions;
  readonly #windows: BoundedMap<string, Window>;

  constructor(options: RateLimitOptions) {
    this.#options = options;
    this.#windows = new BoundedMap<string, Window>(options.maxKeys ?? 100_000);
  }

  /** Counts one request for `key` at `nowMs` when it is allowed. */
  take(key: string, nowMs: number): RateDecision {
    const { perWindow, windowMs } = this.#options;
    if (perWindow <= 0) return { allowed: true };
    let window = this.#windows.get(key);
    if (!window || nowMs - window.start >= windowMs || nowMs < window.start) {
      window = { start: nowMs, count: 0 };
      this.#windows.set(key, window);
    }
    if (window.count >= perWindow) return { allowed: false, retryAfterMs: window.start + windowMs - nowMs };
    window.count++;
    return { allowed: true };
  }
}
