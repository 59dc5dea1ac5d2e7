// Large payload files of a tar package read at once, each from its own offset of the same file.
// One sequential pass leaves every layer waiting for the one before it, and a registry takes each
// upload at the pace of one of its cores; a few bodies in flight keep the disk, this process and the
// registry busy together. The headers are still walked in order by the one TarReader (every entry
// is checked, listed and named before its body is read); only the bodies run side by side, each
// hashed against the manifest exactly as a sequential read would. One failure stops the others.
import type { FileHandle } from 'node:fs/promises';
import { ChunkReader, readBuffers } from './chunks.ts';

/** Bodies read at once: enough to keep a registry's cores busy, few enough to keep memory at 8 MiB each. */
const PARALLEL_BODIES = 4;
/** Entries from this size up are read in parallel (smaller ones are cheaper in line). */
export const PARALLEL_MIN_SIZE = 8 * 1024 * 1024;

class Stopped extends Error {}

export class ParallelBodies {
  readonly #handle: FileHandle;
  readonly #label: string;
  readonly #running = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  /** Bytes of the bodies started that are not read yet (progress). */
  unread = 0;

  constructor(handle: FileHandle, label: string) {
    this.#handle = handle;
    this.#label = label;
  }

  /** Throws the first failure of a body, if any. */
  #check(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Starts `consume` on the `size` bytes at `offset` once fewer than the limit are running. `consume`
   * gets a pump: it calls the sink once per chunk (each valid only during the call).
   */
  async start(
    offset: number,
    size: number,
    truncated: () => Error,
    consume: (pump: (sink: (chunk: Buffer) => Promise<void>) => Promise<void>) => Promise<void>,
    onChunk: () => void,
  ): Promise<void> {
    while (this.#running.size >= PARALLEL_BODIES) {
      this.#check();
      await Promise.race(this.#running);
    }
    this.#check();
    this.unread += size;
    const pump = async (sink: (chunk: Buffer) => Promise<void>) => {
      const reader = new ChunkReader(this.#handle, this.#label, readBuffers(), offset, offset + size);
      try {
        for (let remaining = size; remaining > 0;) {
          if (this.#failure) throw new Stopped();
          const chunk = await reader.next(remaining);
          if (chunk === undefined) throw truncated();
          remaining -= chunk.length;
          this.unread -= chunk.length;
          await sink(chunk);
          onChunk();
        }
      } finally {
        await reader.settle();
      }
    };
    const task: Promise<void> = consume(pump).then(
      () => {
        this.#running.delete(task);
      },
      (error: unknown) => {
        this.#running.delete(task);
        if (!(error instanceof Stopped)) this.#failure ??= { error };
      },
    );
    this.#running.add(task);
  }

  /** Waits for every body; throws the first failure. */
  async finish(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    this.#check();
  }

  /** Stops the bodies still running (they fail at their next chunk) and waits until none is. */
  async stop(): Promise<void> {
    this.#failure ??= { error: new Stopped() };
    while (this.#running.size > 0) await Promise.race(this.#running);
  }
}
