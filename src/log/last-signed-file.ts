// The last checkpoint a log signed, in a file beside (not inside) its database, written atomically.
// Restoring an old database without this file's history is then visible at start-up (E_LOG_ROLLBACK).
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { AirlockError, fromFsError } from '../errors.ts';
import { writeSmallFileAtomic } from '../files/atomic-write.ts';
import type { LastSignedStore } from './engine.ts';
import { MAX_NOTE_BYTES } from './note.ts';

/** `write` is writeSmallFileAtomic unless a server passes its off-thread one (small-file-writer.ts). */
export function lastSignedFile(
  path: string,
  write: (path: string, data: string) => Promise<void> = writeSmallFileAtomic,
): LastSignedStore {
  return {
    // Read and written once per batch: direct reads of a file this small cost less than the event-loop
    // turn an asynchronous one waits for (see writeSmallFileAtomic).
    read: async () => {
      let fd: number;
      try {
        // O_NONBLOCK: a FIFO put in its place must not stall the log at open.
        fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fromFsError(err, path);
      }
      try {
        const stat = fstatSync(fd);
        // A direct read blocks the event loop: only for what a checkpoint can be.
        if (!stat.isFile() || stat.size > MAX_NOTE_BYTES) {
          throw new AirlockError(
            'E_IO',
            `${path} is not a checkpoint: ` +
              `${stat.isFile() ? `${stat.size} bytes, a note is at most ${MAX_NOTE_BYTES}` : 'not a regular file'}`,
          );
        }
        return readFileSync(fd, 'utf8');
      } catch (err) {
        throw err instanceof AirlockError ? err : fromFsError(err, path);
      } finally {
        closeSync(fd);
      }
    },
    write: (note) => write(path, note),
  };
}
