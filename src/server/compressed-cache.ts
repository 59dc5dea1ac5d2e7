// gzip'd entry bundles for `log serve`, compressed off the event loop and kept. An entry bundle at a
// given index and width never changes (entries are immutable, a partial bundle of width W is a fixed
// prefix of the full one), so its compressed bytes are computed once and served from memory after:
// gzipSync of a full bundle held the serving thread for milliseconds on every request.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

export class CompressedCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Buffer>();
  /** Compressions in flight: requests for the same bundle at once share one. */
  readonly #pending = new Map<string, Promise<Buffer>>();
  #bytes = 0;

  /** `maxBytes`: compressed bytes kept at most; the least recently served go first. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The compressed bytes kept for `key`, if any (and it becomes the most recently served). */
  get(key: string): Buffer | undefined {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  /** gzip of `body`, which must be what `key` always names: kept, or compressed on the thread pool. */
  async gzip(key: string, body: Uint8Array): Promise<Buffer> {
    const hit = this.get(key);
    if (hit) return hit;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = gzipAsync(body).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
      this.#keep(key, await pending);
    }
    return pending;
  }

  #keep(key: string, compressed: Buffer): void {
    if (compressed.length > this.#maxBytes || this.#entries.has(key)) return;
    this.#entries.set(key, compressed);
    this.#bytes += compressed.length;
    for (const [oldest, bytes] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= bytes.length;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
