// One record of the last signed checkpoint kept in several places (the shared database every writer
// sees, and a file on this machine that a restored database cannot take back): the newest of them is
// what the log must not fall behind, and each checkpoint signed from now on goes to all of them.
import type { LastSignedStore } from './engine.ts';

/**
 * `sizeOf` reads a note's tree size; a note it cannot read is returned as the record (ahead of any
 * other), so that the engine's own check of it refuses the log rather than this store passing it over.
 */
export function newestLastSigned(
  stores: readonly LastSignedStore[],
  sizeOf: (note: string) => number,
): LastSignedStore {
  return {
    read: async () => {
      const notes = await Promise.all(stores.map((s) => s.read()));
      let newest: { note: string; size: number } | undefined;
      for (const note of notes) {
        if (note === undefined) continue;
        let size: number;
        try {
          size = sizeOf(note);
        } catch {
          return note;
        }
        if (!newest || size > newest.size) newest = { note, size };
      }
      return newest?.note;
    },
    write: async (note) => {
      await Promise.all(stores.map((s) => s.write(note)));
    },
  };
}
