// The last checkpoint a log signed, in a file beside (not inside) its database, written atomically.
// Restoring an old database without this file's history is then visible at start-up (E_LOG_ROLLBACK).
import { readFileSync } from 'node:fs';
import { fromFsError } from '../errors.ts';
import { writeSmallFileAtomic } from '../files/atomic-write.ts';
import type { LastSignedStore } from './engine.ts';

export function lastSignedFile(path: string): LastSignedStore {
  return {
    // Read and written once per batch: direct reads of a file this small cost less than the event-loop
    // turn an asynchronous one waits for (see writeSmallFileAtomic).
    read: async () => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fromFsError(err, path);
      }
    },
    write: (note) => writeSmallFileAtomic(path, note),
  };
}
