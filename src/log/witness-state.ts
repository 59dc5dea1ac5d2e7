// A witness's memory: per origin, the size and root it last cosigned. It is the only thing that lets a
// witness refuse a rolled-back or forked log, so it is written durably (atomically, fsync'd) before a
// cosignature leaves, and a missing file is refused unless the caller says this is the first run.
//
//   {"version": 1, "logs": {"<origin>": {"size": N, "root": "<base64>", "time": "<ISO>", "checkpoint": "<note>"}}}
//
// `checkpoint` is the note as cosigned, kept as evidence should the log later show an inconsistent one.
import { AirlockError } from '../errors.ts';
import { pathExists, writeSmallFileAtomic } from '../files/atomic-write.ts';
import { acquireLock, type HeldLock } from '../files/lock-file.ts';
import { readJsonFile } from '../files/read-json.ts';
import { decodeBase64 } from './note.ts';

export interface WitnessedLog {
  readonly size: number;
  readonly root: string;
  readonly time: string;
  readonly checkpoint: string;
}

/** Origin → what was last cosigned for it. A Map, so an origin named like an Object.prototype member is just a key. */
export type WitnessState = ReadonlyMap<string, WitnessedLog>;

export function parseWitnessState(json: unknown, source: string): Map<string, WitnessedLog> {
  const bad = (why: string) => new AirlockError('E_INPUT_MALFORMED', `${source}: not a witness state file: ${why}`);
  const doc = json as { version?: unknown; logs?: unknown } | null;
  if (doc?.version !== 1 || typeof doc.logs !== 'object' || doc.logs === null || Array.isArray(doc.logs))
    throw bad('expected {"version": 1, "logs": {...}}');
  const logs = new Map(Object.entries(doc.logs as Record<string, WitnessedLog>));
  for (const [origin, log] of logs) {
    if (!Number.isSafeInteger(log?.size) || log.size < 0 || decodeBase64(String(log.root))?.length !== 32)
      throw bad(`the entry for ${origin} lacks a size or a base64 32-byte root`);
  }
  return logs;
}

export function serializeWitnessState(logs: WitnessState): string {
  return `${JSON.stringify({ version: 1, logs: Object.fromEntries(logs) }, null, 2)}\n`;
}

export async function readWitnessStateFile(path: string, init: boolean): Promise<Map<string, WitnessedLog>> {
  if (!(await pathExists(path))) {
    if (init) return new Map();
    throw new AirlockError('E_INPUT_MISSING', `${path}: no witness state file`, {
      hint:
        'pass --init on the very first run only: a lost state file would let the witness cosign a ' +
        'rolled-back or forked log',
    });
  }
  return parseWitnessState(await readJsonFile(path, 'the witness state'), path);
}

// Once per cosignature, inside the witness's one-at-a-time queue: the direct-call atomic write (two
// fsyncs off the event loop) instead of nine event-loop turns of asynchronous fs calls.
export async function writeWitnessStateFile(path: string, logs: WitnessState): Promise<void> {
  await writeSmallFileAtomic(path, serializeWitnessState(logs));
}

/** Held while a witness reads, decides and writes its state: the pull and push modes never interleave on one file. */
export function lockWitnessState(path: string): Promise<HeldLock> {
  return acquireLock(`${path}.lock`, `the witness state ${path}`);
}
