// One tar entry's body given to every cataloguer that wants it, each through a stream of its own, at
// the pace of the slowest; a cataloguer that stops early (destroys its stream) no longer holds the
// others back. The entry is drained to its end whatever the readers do, so the tar parser moves on.
import { PassThrough } from 'node:stream';
import type { ReadEntry } from 'tar';

export function fanOut(entry: ReadEntry, count: number): PassThrough[] {
  const outs = Array.from({ length: count }, () => new PassThrough());
  const blocked = new Set<PassThrough>();
  const unblock = (out: PassThrough) => {
    if (blocked.delete(out) && blocked.size === 0) entry.resume();
  };
  for (const out of outs) {
    out.on('drain', () => unblock(out));
    // A reader that destroys its stream while the entry waits for it must not stall the entry.
    out.on('close', () => unblock(out));
    out.on('error', () => {});
  }
  entry.on('data', (chunk: Buffer) => {
    for (const out of outs) {
      if (out.destroyed || out.writableEnded) continue;
      if (!out.write(chunk)) blocked.add(out);
    }
    if (blocked.size > 0) entry.pause();
  });
  entry.on('end', () => {
    for (const out of outs) if (!out.destroyed && !out.writableEnded) out.end();
  });
  return outs;
}
