// A cataloguer's one way to take a file's bytes: all of them up to a bound, or none (the stream is
// destroyed and the caller says so in a note) — a database file is small, an unexpected one may not be.
import type { Readable } from 'node:stream';

export async function readBounded(content: Readable, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of content) {
    size += (chunk as Buffer).length;
    if (size > max) {
      content.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `1048576` → `1 MiB`, for notes. */
export function mib(bytes: number): string {
  return `${Math.round(bytes / 1048576)} MiB`;
}
