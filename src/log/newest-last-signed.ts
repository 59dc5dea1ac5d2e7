// One record of the last signed checkpoint kept in several places (the shared database every writer
// sees, and a file on this machine that a restored database cannot take back): the newest of them is
// what the log must not fall behind, every one of them must be a checkpoint the log extends (readAll),
// and each checkpoint signed from now on goes to every place that is behind it.
import type { LastSignedStore } from './engine.ts';

/**
 * `sizeOf` reads a note's tree size; a note it cannot read is returned as the record (ahead of any
 * other), so that the engine's own check of it refuses the log rather than this store passing it over.
 */
export function newestLastSigned(
  stores: readonly LastSignedStore[],
  sizeOf: (note: string) => number,
): LastSignedStore {
  /** A note's size; one that does not read counts as ahead for `read`, as behind for `write`. */
  const sizeOr = (note: string, unreadable: number) => {
    try {
      return sizeOf(note);
    } catch {
      return unreadable;
    }
  };
  const readAll = () => Promise.all(stores.map((s) => s.read()));
  return {
    read: async () => {
      let newest: { note: string; size: number } | undefined;
      for (const note of await readAll()) {
        if (note === undefined) continue;
        const size = sizeOr(note, Infinity);
        if (!newest || size > newest.size) newest = { note, size };
      }
      return newest?.note;
    },
    readAll,
    // Only where the record is behind: a place already ahead (another process recorded a newer one, or
    // the database recorded it with the state) is left as it is.
    write: async (note, seen) => {
      const size = sizeOf(note);
      const notes = seen ?? (await readAll());
      await Promise.all(
        stores.map(async (s, i) => {
          const kept = notes[i];
          if (kept === undefined || sizeOr(kept, -1) < size) await s.write(note);
        }),
      );
    },
  };
}
