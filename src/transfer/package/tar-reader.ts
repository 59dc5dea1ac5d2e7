// A pull reader of the tar subset packages use, on top of tar's own header decoding (Header, Pax).
// tar's Parser is push-based: it keeps parsing while an async check (signature verification) runs,
// sniffs and inflates gzip, and does not notice a missing end-of-archive marker. Pulling block by
// block lets the caller stop after the headers, and makes every irregularity an error: a bad
// checksum, a global or stacked extension header, a directory with a body, an archive that ends
// early, anything but zero bytes after the end marker.
import { Header, type HeaderData, Pax } from 'tar';
import { AirlockError } from '../../errors.ts';
import type { ChunkReader } from './chunks.ts';
import { malformed, printable } from './paths.ts';

const BLOCK = 512;
/** pax and GNU long-name records are a few hundred bytes; tar's Parser allows 1 MiB as well. */
const MAX_EXTENSION_SIZE = 1024 * 1024;

export interface TarEntry {
  /** As written in the archive (pax or GNU long name applied), not yet checked. */
  readonly path: string;
  /** tar's type name: 'File', 'Directory', 'SymbolicLink', ... */
  readonly type: string;
  readonly size: number;
  readonly linkpath: string;
}

function isZero(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

/** True when a header's size field says 0 (octal digits, spaces and NULs only). */
function rawSizeIsZero(block: Buffer): boolean {
  return /^[0\s\0]*$/.test(block.subarray(124, 136).toString('latin1'));
}

export class TarReader {
  readonly #reader: ChunkReader;
  readonly #label: string;
  /** Body bytes, then padding bytes, of the current entry still to be read. */
  #remaining = 0;
  #padding = 0;
  #ended = false;

  constructor(reader: ChunkReader, label: string) {
    this.#reader = reader;
    this.#label = label;
  }

  get consumed(): number {
    return this.#reader.consumed;
  }

  /**
   * One code wherever the file ends: in the headers (nothing verified yet, so no verdict) as in the
   * payload (after the signature checked out). A cut file is an incomplete copy, which says nothing
   * about who made it; copying it again is the remedy either way.
   */
  #truncated(): Error {
    return new AirlockError(
      'E_PACKAGE_TRUNCATED',
      `${this.#label}: the package ends early, after ${this.#reader.consumed} bytes: truncated ` +
        `(an incomplete copy), or not a tar`,
      {
        hint: 'copy the package again; nothing was imported',
        details: { readBytes: this.#reader.consumed },
      },
    );
  }

  async #block(): Promise<Buffer> {
    const block = await this.#reader.exactly(BLOCK);
    if (block.length < BLOCK) throw this.#truncated();
    return block;
  }

  /** The next entry, or undefined at the end-of-archive marker. The previous body must have been read. */
  async next(): Promise<TarEntry | undefined> {
    if (this.#remaining > 0 || this.#padding > 0) await this.skip();
    if (this.#ended) return undefined;
    let ex: HeaderData | undefined;
    for (;;) {
      const block = await this.#block();
      if (isZero(block)) {
        // The marker is two zero blocks; one alone means the archive was cut or spliced.
        if (ex !== undefined || !isZero(await this.#block()))
          throw malformed(`${this.#label}: a damaged end-of-archive marker`);
        this.#ended = true;
        return undefined;
      }
      const header = this.#decode(block, ex);
      const code = String.fromCharCode(block[156] ?? 0);
      if (code === 'x' || code === 'L') {
        // At most one extension record per entry: stacked ones are where tar readers disagree.
        if (ex !== undefined) throw malformed(`${this.#label}: two extended headers in a row`);
        const size = header.size ?? -1;
        if (size < 0 || size > MAX_EXTENSION_SIZE)
          throw malformed(`${this.#label}: an extended header of ${size} bytes`);
        this.#setBody(size);
        const text = (await this.readAll()).toString('utf8');
        ex = code === 'x' ? Pax.parse(text) : { path: text.replace(/\0[\s\S]*$/, '') };
        continue;
      }
      if (code === 'g') throw malformed(`${this.#label}: a global pax header (packages never have one)`);
      return this.#entry(header, block, ex);
    }
  }

  #decode(block: Buffer, ex: HeaderData | undefined): Header {
    let header: Header;
    try {
      header = new Header(block, 0, ex);
    } catch (err) {
      throw malformed(`${this.#label}: unreadable tar header: ${(err as Error).message}`);
    }
    if (!header.cksumValid) throw malformed(`${this.#label}: a tar header with a bad checksum (damaged, or not a tar)`);
    const magic = block.subarray(257, 265).toString('latin1');
    if (magic !== 'ustar\u000000' && magic !== 'ustar  \u0000') throw malformed(`${this.#label}: not a ustar/pax tar`);
    return header;
  }

  #entry(header: Header, block: Buffer, ex: HeaderData | undefined): TarEntry {
    // Header.decode prepends the ustar prefix even to a pax path and rereads linkpath from the block;
    // the extension record must win outright (tar's ReadEntry reapplies it for the same reason).
    const path = ex?.path ?? header.path ?? '';
    const linkpath = ex?.linkpath ?? header.linkpath ?? '';
    const size = header.size;
    if (size === undefined || !Number.isSafeInteger(size) || size < 0)
      throw malformed(`${this.#label}: entry '${printable(path)}' has no valid size`);
    // tar's Header zeroes a directory's size, but a body would still be there and desync the reader.
    if (header.type === 'Directory' && (!rawSizeIsZero(block) || (ex?.size ?? 0) !== 0)) {
      throw malformed(`${this.#label}: directory entry '${printable(path)}' carries contents`);
    }
    this.#setBody(size);
    return { path, type: header.type, size, linkpath };
  }

  #setBody(size: number): void {
    this.#remaining = size;
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
  }

  /** Streams the current entry's body to `sink` (each chunk valid only during the call). */
  async body(sink: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    while (this.#remaining > 0) {
      const chunk = await this.#reader.next(this.#remaining);
      if (chunk === undefined) throw this.#truncated();
      this.#remaining -= chunk.length;
      await sink(chunk);
    }
    if (this.#padding > 0) {
      const padding = await this.#reader.exactly(this.#padding);
      if (padding.length < this.#padding) throw this.#truncated();
      this.#padding = 0;
    }
  }

  /** The current entry's body in memory (callers bound the size first). */
  async readAll(): Promise<Buffer> {
    const parts: Buffer[] = [];
    await this.body((chunk) => {
      parts.push(Buffer.from(chunk));
    });
    return Buffer.concat(parts);
  }

  skip(): Promise<void> {
    return this.body(() => undefined);
  }

  /**
   * Leaves the current entry's body (not yet read) to another reader: returns where it lies in the
   * file and moves past it and its padding unread. A file that ends inside it is found by that
   * reader, and by this one at the next header.
   */
  async detachBody(): Promise<{ readonly offset: number; readonly size: number }> {
    const body = { offset: this.#reader.offset, size: this.#remaining };
    await this.#reader.skip(this.#remaining + this.#padding);
    this.#remaining = 0;
    this.#padding = 0;
    return body;
  }

  /** The error for an archive that ends inside an entry. */
  truncated(): Error {
    return this.#truncated();
  }

  /** After the end marker: the rest of the file may only be zero padding (tar pads to records). */
  async finish(): Promise<void> {
    if (!this.#ended) throw new AirlockError('E_INTERNAL', 'TarReader.finish called before the end of the archive');
    for (;;) {
      const chunk = await this.#reader.next(Number.MAX_SAFE_INTEGER);
      if (chunk === undefined) return;
      if (!isZero(chunk)) throw malformed(`${this.#label}: data after the end of the tar`);
    }
  }
}
