// A cataloguer's one way to take a file's bytes: the whole file (a package database, a jar's central
// directory) or its head (a Python METADATA's headers) up to a bound, or none — the stream destroyed and
// the caller saying so in a note. Memory stays bounded by the cap.
import type { Readable } from 'node:stream';
import type { FoundPackage } from '../package.ts';
import { bounded } from '../../text.ts';
import type { CandidateFile, CatalogueResult } from './cataloguer.ts';

/** `1048576` → `1 MiB`, for notes. */
export function mib(bytes: number): string {
  return `${Math.round(bytes / 1048576)} MiB`;
}

/** The whole stream, or undefined (the stream destroyed) once it passes `max` bytes. */
export async function readCapped(content: Readable, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of content as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      content.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * The stream up to and including the first line that `endsHead` accepts (a blank line after email-style
 * headers), the rest left unread and the stream destroyed; the whole stream if no such line comes; or
 * undefined if the head passes `max` bytes.
 */
export async function readHead(content: Readable, max: number, separator: RegExp): Promise<string | undefined> {
  let text = '';
  let size = 0;
  for await (const chunk of content as AsyncIterable<Buffer>) {
    size += chunk.length;
    text += chunk.toString('latin1');
    const end = text.search(separator);
    if (end >= 0) {
      content.destroy();
      return Buffer.from(text.slice(0, end), 'latin1').toString('utf8');
    }
    if (size > max) {
      content.destroy();
      return undefined;
    }
  }
  return Buffer.from(text, 'latin1').toString('utf8');
}

/** The result of a file wanted but not read: said in a note, and listed as unread (not evaluated). */
export function unreadResult(why: string): CatalogueResult {
  return { packages: [], notes: [why], unread: [why] };
}

/** A one-package file's result: the package, or the note saying why the file describes none. */
export function packageOrNote(found: FoundPackage | string): CatalogueResult {
  return typeof found === 'string' ? { packages: [], notes: [found] } : { packages: [found] };
}

/** The file's bytes, or the result that notes it is over `max` bytes and was not read. */
export async function readOrNote(
  cataloguer: string,
  file: CandidateFile,
  content: Readable,
  max: number,
): Promise<Buffer | CatalogueResult> {
  const bytes = await readCapped(content, max);
  return bytes ?? unreadResult(`${cataloguer}: ${bounded(file.path)} is larger than ${mib(max)}, not read`);
}
