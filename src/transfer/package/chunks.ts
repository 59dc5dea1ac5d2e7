// Sequential file reading and writing for packages. Like digestFile, two 4 MiB buffers with one read
// in flight: the disk reads chunk n+1 while this thread hashes and writes chunk n. Memory stays at
// the two buffers whatever the size of the package.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { READ_CHUNK_SIZE } from '../../crypto/digest.ts';
import { fromFsError } from '../../errors.ts';

const EMPTY = Buffer.alloc(0);

export async function openForReading(path: string, noFollow: boolean): Promise<FileHandle> {
  try {
    // O_NOFOLLOW: a file checked with lstat cannot be swapped for a symlink before it is opened.
    return await open(path, noFollow ? constants.O_RDONLY | constants.O_NOFOLLOW : constants.O_RDONLY);
  } catch (err) {
    throw fromFsError(err, path);
  }
}

export type ReadBuffers = readonly [Buffer, Buffer];

export function readBuffers(): ReadBuffers {
  return [Buffer.allocUnsafe(READ_CHUNK_SIZE), Buffer.allocUnsafe(READ_CHUNK_SIZE)];
}

export class ChunkReader {
  readonly #handle: FileHandle;
  readonly #path: string;
  readonly #buffers: ReadBuffers;
  #which: 0 | 1 = 0;
  #position = 0;
  #pending: Promise<number | Error> | undefined;
  #chunk: Buffer = EMPTY;
  #eof = false;
  readonly #start: number;
  readonly #end: number;
  #offset: number;

  /**
   * `buffers` may be shared by readers used one after another (a folder's files), never at once.
   * Readers of one handle at different `start` offsets may run at once (positional reads); `end`
   * stops one at its body's end, so neither it nor its read ahead reads bytes another reader reads.
   */
  constructor(
    handle: FileHandle,
    path: string,
    buffers: ReadBuffers = readBuffers(),
    start = 0,
    end = Number.POSITIVE_INFINITY,
  ) {
    this.#handle = handle;
    this.#path = path;
    this.#buffers = buffers;
    this.#position = start;
    this.#start = start;
    this.#end = end;
    this.#offset = start;
  }

  /** The file offset of the next byte `next` hands out. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes handed out (or skipped) so far (progress). */
  get consumed(): number {
    return this.#offset - this.#start;
  }

  /**
   * Up to `max` (> 0) next bytes, or undefined at the end of the file. The view is only valid until
   * the next call: the buffer behind it is then reused for the read ahead.
   */
  async next(max: number): Promise<Buffer | undefined> {
    if (this.#chunk.length === 0 && !(await this.#fill())) return undefined;
    const out = this.#chunk.subarray(0, max);
    this.#chunk = this.#chunk.subarray(out.length);
    this.#offset += out.length;
    return out;
  }

  /**
   * Moves past the next `n` bytes without handing them out (a body another reader reads). Past the
   * end of the file is not an error here: the next read finds the end.
   */
  async skip(n: number): Promise<void> {
    if (n <= this.#chunk.length) {
      this.#chunk = this.#chunk.subarray(n);
      this.#offset += n;
      return;
    }
    this.#offset += n;
    this.#chunk = EMPTY;
    await this.settle();
    this.#position = this.#offset;
    this.#eof = false;
  }

  /** Exactly `n` bytes copied out, or fewer when the file ends first (the caller decides what that means). */
  async exactly(n: number): Promise<Buffer> {
    const out = Buffer.alloc(n);
    let have = 0;
    while (have < n) {
      const part = await this.next(n - have);
      if (part === undefined) return out.subarray(0, have);
      part.copy(out, have);
      have += part.length;
    }
    return out;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    this.#pending ??= this.#read(this.#which);
    const bytesRead = await this.#pending;
    this.#pending = undefined;
    if (bytesRead instanceof Error) throw bytesRead;
    if (bytesRead === 0) {
      this.#eof = true;
      return false;
    }
    this.#chunk = this.#buffers[this.#which].subarray(0, bytesRead);
    this.#which = this.#which === 0 ? 1 : 0;
    // Views into the other buffer were handed out before this call, so the caller is done with them.
    this.#pending = this.#read(this.#which);
    return true;
  }

  /**
   * A failed read resolves to its error instead of rejecting: a read ahead nobody waits for (the
   * caller is busy verifying headers, or gave up) must not become an unhandled rejection.
   */
  #read(which: 0 | 1): Promise<number | Error> {
    const length = Math.min(READ_CHUNK_SIZE, this.#end - this.#position);
    if (length <= 0) return Promise.resolve(0);
    return this.#handle.read(this.#buffers[which], 0, length, this.#position).then(
      ({ bytesRead }) => {
        this.#position += bytesRead;
        return bytesRead;
      },
      (err: unknown) => fromFsError(err, this.#path),
    );
  }

  /** Waits for the read ahead and drops it; the handle stays open (other readers may share it). */
  async settle(): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    await pending;
  }

  /** Closes the file once the read ahead has settled (closing under a pending read races it). */
  async close(): Promise<void> {
    await this.settle();
    await this.#handle.close();
  }
}

/** Writes all of `data` (a write may be short), at the handle's current position. */
export async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, null);
    done += bytesWritten;
  }
}
