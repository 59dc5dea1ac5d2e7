// Reused memory for bulk blob downloads. Every fresh buffer is memory the kernel must fault in page by
// page, and V8 frees it only at a later GC: with a new 1 MiB buffer per piece of a registry → layout
// copy, airlock took 25–30 thousand page faults per 512 MiB more than with reuse (skopeo: about 2,000
// in all), and on this firecracker VM the copy ran about 20% slower for it.
//
// The contract that keeps reuse safe: a buffer goes back into the pool only from the consumer that reads
// it last, after it has read it. That consumer is the layout's file sink, which recycles a piece once its
// bytes are written (and were hashed upstream before that). A piece that goes anywhere else, say into
// memory for parsing, is never recycled and is left to the garbage collector like any other buffer.

export class BufferPool {
  readonly size: number;
  readonly #keep: number;
  readonly #free: Buffer[] = [];
  /** Buffers handed out and not yet back: only these may be recycled, and each only once. */
  readonly #issued = new WeakSet<ArrayBufferLike>();

  /** `keep`: how many free buffers to hold on to; more than that are left to the garbage collector. */
  constructor(size: number, keep: number) {
    this.size = size;
    this.#keep = keep;
  }

  take(): Buffer {
    const buffer = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.#issued.add(buffer.buffer);
    return buffer;
  }

  /** Takes back the buffer `piece` is a view of, if this pool issued it; anything else is ignored. */
  recycle(piece: Uint8Array): void {
    if (!this.#issued.has(piece.buffer)) return;
    this.#issued.delete(piece.buffer);
    if (this.#free.length < this.#keep) this.#free.push(Buffer.from(piece.buffer as ArrayBuffer, 0, this.size));
  }
}

/** The buffers bulk blob downloads are read into. */
export const BULK_BUFFERS = new BufferPool(1024 * 1024, 16);
