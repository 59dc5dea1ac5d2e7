// Blob bytes checked while they stream: the length against the descriptor's size (failing as soon as
// there is one byte too many, so a hostile registry cannot feed an endless body) and the hash against
// its digest at the end. Neither a download nor an upload is ever trusted to be what it claims.
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { DigestStream, parseDigest } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import type { Descriptor } from '../types.ts';

class SizeGuard extends Transform {
  readonly #expected: number;
  readonly #subject: string;
  #seen = 0;

  constructor(expected: number, subject: string) {
    super();
    this.#expected = expected;
    this.#subject = subject;
  }

  #mismatch(found: string): AirlockError {
    return new AirlockError('E_DIGEST_MISMATCH', `${this.#subject}: expected ${this.#expected} bytes, found ${found}`, {
      details: { subject: this.#subject, expectedSize: this.#expected },
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#expected) done(this.#mismatch('more'));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#seen !== this.#expected) done(this.#mismatch(String(this.#seen)));
    else done();
  }
}

/**
 * `source` piped through a size check and a DigestStream: the returned stream ends normally only if
 * exactly `desc.size` bytes hashing to `desc.digest` went through, and errors (E_DIGEST_MISMATCH)
 * otherwise. Errors of `source` reach the returned stream through `mapSourceError`; destroying the
 * returned stream destroys `source` (a download's socket is released).
 */
export function verifiedStream(source: Readable, desc: Descriptor, subject: string, mapSourceError: (err: unknown) => Error = (e) => e as Error): Readable {
  const guard = new SizeGuard(desc.size, subject);
  const digest = new DigestStream({ expected: parseDigest(desc.digest), subject });
  source.on('error', (err) => digest.destroy(mapSourceError(err)));
  guard.on('error', (err) => digest.destroy(err));
  digest.once('close', () => {
    if (!source.readableEnded) source.destroy();
    if (!guard.readableEnded) guard.destroy();
  });
  source.pipe(guard).pipe(digest);
  return digest;
}
