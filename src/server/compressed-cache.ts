// gzip'd entry bundles for `log serve`, compressed off the event loop and kept. An entry bundle at a
// given index and width never changes (entries are immutable, a partial bundle of width W is a fixed
// prefix of the full one), so its compressed bytes are computed once and served from memory after:
// gzipSync of a full bundle held the serving thread for milliseconds on every request.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { BoundedMap } from '../bounded-map.ts';

const gzipAsync = promisify(gzip);

export class CompressedCache {
  readonly #entries: BoundedMap<string, Buffer>;
  /** Compressions in flight: requests for the same bundle at once share one. */
  readonly #pending = new Map<string, Promise<Buffer>>();

  /** `maxBytes`: compressed bytes kept at most; the least recently served go first. */
  constructor(maxBytes: number) {
    this.#entries = new BoundedMap(maxBytes, { order: 'use', weigh: (compressed) => compressed.length });
  }

  /** The compressed bytes kept for `key`, if any (and it becomes the most recently served). */
  get(key: string): Buffer | undefined {
    return this.#entries.get(key);
  }

  /** gzip of `body`, which must be what `key` always names: kept, or compressed on the thread pool. */
  async gzip(key: string, body: Uint8Array): Promise<Buffer> {
    const hit = this.get(key);
    if (hit) return hit;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = gzipAsync(body).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
      const compressed = await pending;
      // One larger than maxBytes alone is not kept (and nothing else is forgotten for it).
      if (!this.#entries.has(key)) this.#entries.set(key, compressed);
    }
    return pending;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#entries.weight;
  }
}
