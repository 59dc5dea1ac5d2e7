// Blob bytes checked while they stream: the length against the descriptor's size (failing as soon as
// there is one byte too many, so a hostile registry cannot feed an endless body) and the hash against
// its digest at the end. Neither a download nor an upload is ever trusted to be what it claims.
import { finished, type Readable } from 'node:stream';
import { DigestStream, parseDigest } from '../../crypto/digest.ts';
import type { Descriptor } from '../types.ts';

/**
 * `source` piped through a size check and a DigestStream: the returned stream ends normally only if
 * exactly `desc.size` bytes hashing to `desc.digest` went through, and errors (E_DIGEST_MISMATCH)
 * otherwise. Errors of `source` reach the returned stream through `mapSourceError`; destroying the
 * returned stream destroys `source` (a download's socket is released).
 */
export function verifiedStream(
  source: Readable,
  desc: Descriptor,
  subject: string,
  mapSourceError: (err: unknown) => Error = (e) => e as Error,
): Readable {
  // One transform checks both size and hash: every stage costs per chunk, and blobs are large.
  const digest = new DigestStream({ expected: parseDigest(desc.digest), expectedSize: desc.size, subject });
  // finished() also reports a source that failed or was closed before it got here (a download whose
  // connection broke while it waited); an 'error' listener would wait for an event already gone.
  finished(source, { writable: false }, (err) => {
    if (err) digest.destroy(mapSourceError(err));
  });
  digest.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  source.pipe(digest);
  return digest;
}
