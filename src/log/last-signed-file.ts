// The last checkpoint a log signed, in a file beside (not inside) its database, written atomically.
// Restoring an old database without this file's history is then visible at start-up (E_LOG_ROLLBACK).
import { readFile } from 'node:fs/promises';
import { fromFsError } from '../errors.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import type { LastSignedStore } from './engine.ts';

export function lastSignedFile(path: string): LastSignedStore {
  return {
    read: async () => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fromFsError(err, path);
      }
    },
    write: (note) => writeFileAtomic(path, note, { overwrite: true, mode: 0o644 }),
  };
}
