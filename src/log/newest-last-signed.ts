// The last signed checkpoint kept in more than one place: in the shared database (every process of a
// log that several hosts run sees what any of them signed) and in a file on this host (a database
// restored or promoted behind what this host saw still shows). Reads answer the newest record, writes
// go to each place.
import type { LastSignedStore } from './engine.ts';

/**
 * `sizeOf` opens a note (checking its signature) and says its tree size; a record it cannot open is
 * answered as is, so the engine reports it instead of silently preferring another.
 */
export function newestLastSigned(
  stores: readonly LastSignedStore[],
  sizeOf: (note: string) => number,
): LastSignedStore {
  return {
    async read() {
      let newest: { note: string; size: number } | undefined;
      for (const store of stores) {
        const note = await store.read();
        if (note === undefined) continue;
        let size: number;
        try {
          size = sizeOf(note);
        } catch {
          return note;
        }
        if (newest === undefined || size > newest.size) newest = { note, size };
      }
      return newest?.note;
    },
    async write(note) {
      for (const store of stores) await store.write(note);
    },
  };
}
