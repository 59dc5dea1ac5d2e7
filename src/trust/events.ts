// The local append-only record of trust decisions (imports, break-glass), one JSON object per line in
// $AIRLOCK_HOME/events.jsonl. A stand-in until the audit log (a Merkle log) replaces it; it is
// append-only by convention, not tamper-evident.
import { open } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fromFsError } from '../errors.ts';

export interface TrustEvent {
  readonly time: string;
  /** e.g. trust.import, trust.break-glass, transfer.import, transfer.inspect */
  readonly action: string;
  readonly name: string;
  readonly result: string;
  readonly [key: string]: unknown;
}

export function eventsPath(stateDir: string): string {
  return join(stateDir, 'events.jsonl');
}

export async function appendEvent(stateDir: string, event: TrustEvent): Promise<void> {
  const path = eventsPath(stateDir);
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const handle = await open(path, 'a', 0o600);
    try {
      await handle.appendFile(`${JSON.stringify(event)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw fromFsError(err, path, 'append to');
  }
}
