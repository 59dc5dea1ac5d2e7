// Where each side remembers its place on a transfer channel, so a package can be checked for replay
// (same or older number), gaps (a missing package) and forks (previous manifest hash differs):
//   $AIRLOCK_HOME/channels/out/NAME.json   last package packed on this machine
//   $AIRLOCK_HOME/channels/in/NAME.json    last package imported on this machine
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AirlockError } from '../errors.ts';
import { makeDirs } from '../files/state-dir.ts';
import { MAX_INPUT_FILE, readOptionalText } from '../files/read-file.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { acquireLock, type HeldLock } from '../files/lock-file.ts';
import type { AuditMark } from './audit-carry.ts';
import type { Sequence } from './format.ts';

export interface ChannelState {
  readonly number: number;
  /** sha256:<hex> of that package's manifest.sha256. */
  readonly manifest: string;
  readonly at: string;
  readonly packageId: string;
  /** Where that package left the connected side's audit log (audit-carry.ts). */
  readonly audit?: AuditMark;
  /** Out side: the marks of the last packages packed, newest first, that the next package proves consistency from. */
  readonly auditHistory?: readonly AuditMark[];
}

function statePath(stateDir: string, side: 'in' | 'out', channel: string): string {
  return join(stateDir, 'channels', side, `${channel}.json`);
}

export async function readChannel(
  stateDir: string,
  side: 'in' | 'out',
  channel: string,
): Promise<ChannelState | undefined> {
  const unreadable = (reason: string, cause: unknown) =>
    new AirlockError('E_IO', `channel state ${channel} is unreadable: ${reason}`, { cause });
  const text = await readOptionalText(statePath(stateDir, side, channel), 'a channel state', MAX_INPUT_FILE, (f) =>
    unreadable(f.reason, f.error),
  );
  if (text === undefined) return undefined;
  let state: Partial<ChannelState> | null;
  try {
    state = JSON.parse(text) as Partial<ChannelState> | null;
  } catch (err) {
    throw unreadable((err as Error).message, err);
  }
  // A damaged record must not read as "no package yet" or as number NaN: either would let replays in.
  if (
    !Number.isSafeInteger(state?.number) ||
    (state?.number ?? 0) < 1 ||
    !/^sha256:[0-9a-f]{64}$/.test(String(state?.manifest))
  ) {
    throw new AirlockError('E_IO', `channel state ${channel} is damaged: number or manifest is missing or malformed`, {
      hint: `restore ${statePath(stateDir, side, channel)} from backup; airlock will not guess the channel's place`,
    });
  }
  return state as ChannelState;
}

/** Held from the sequence check to the state write of an import, so two imports cannot both be "next". */
export function lockChannel(stateDir: string, side: 'in' | 'out', channel: string): Promise<HeldLock> {
  return acquireLock(join(stateDir, 'channels', side, `${channel}.lock`), `channel ${channel}`);
}

export async function writeChannel(
  stateDir: string,
  side: 'in' | 'out',
  channel: string,
  state: ChannelState,
): Promise<void> {
  const path = statePath(stateDir, side, channel);
  await makeDirs(dirname(path));
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { overwrite: true });
}

/**
 * Out side: the state a pack is about to leave, written (with the package's path) just before the
 * package takes its place. If the pack dies between the two, the next pack on the channel looks at
 * that path: the package is there, so the state moves; it is not, so the number is used again.
 */
export interface PendingOut {
  readonly state: ChannelState;
  readonly out: string;
}

/** In a folder of its own: a channel may be named anything.pending, and its state file must not collide. */
function pendingOutPath(stateDir: string, channel: string): string {
  return join(stateDir, 'channels', 'out-pending', `${channel}.json`);
}

export async function writePendingOut(stateDir: string, channel: string, pending: PendingOut): Promise<void> {
  const path = pendingOutPath(stateDir, channel);
  await makeDirs(dirname(path));
  await writeFileAtomic(path, `${JSON.stringify(pending, null, 2)}\n`, { overwrite: true });
}

export async function readPendingOut(stateDir: string, channel: string): Promise<PendingOut | undefined> {
  const path = pendingOutPath(stateDir, channel);
  const text = await readOptionalText(
    path,
    'a pending package record',
    MAX_INPUT_FILE,
    (f) => new AirlockError('E_IO', `${path} is unreadable: ${f.reason}`, { cause: f.error }),
  );
  if (text === undefined) return undefined;
  const doc = (() => {
    try {
      return JSON.parse(text) as Partial<PendingOut>;
    } catch {
      return undefined;
    }
  })();
  if (
    typeof doc?.out !== 'string' ||
    !Number.isSafeInteger(doc.state?.number) ||
    !/^sha256:[0-9a-f]{64}$/.test(String(doc.state?.manifest))
  ) {
    throw new AirlockError('E_IO', `${path} is damaged`, {
      hint: `restore it from backup, or remove it if no package was written since the last one on channel ${channel}`,
    });
  }
  return doc as PendingOut;
}

export async function removePendingOut(stateDir: string, channel: string): Promise<void> {
  await rm(pendingOutPath(stateDir, channel), { force: true });
}

export type SequenceVerdict = {
  readonly kind: 'next' | 'first' | 'gap-allowed' | 'same-package';
  readonly detail: string;
};

/**
 * The place of an incoming package on its channel, given what was imported last:
 *   next: number = last + 1 and previous = last manifest; first: nothing imported yet;
 *   same-package: the package already imported (a re-run: idempotent, nothing new happens);
 *   replay/older (number <= last, different package), fork (previous differs), gap (number > last + 1,
 *   refused unless allowGap) → E_SEQUENCE.
 */
export function checkSequence(
  seq: Sequence,
  manifest: string,
  last: ChannelState | undefined,
  allowGap: boolean,
): SequenceVerdict {
  if (!last) {
    // A channel never seen here must start at its beginning: otherwise an old package of some other
    // (or a reset) channel would pass as "first" and roll tags back.
    if (seq.number === 1 && seq.previous === null)
      return { kind: 'first', detail: `first package on channel ${seq.channel}` };
    if (!allowGap) {
      throw new AirlockError(
        'E_SEQUENCE',
        `channel ${seq.channel} has no package imported here, and this one (#${seq.number}, ` +
          `previous ${seq.previous ?? 'none'}) is not its first`,
        {
          hint: 'import the channel from its first package, or accept starting mid-way with --allow-gap (recorded)',
          details: { channel: seq.channel, number: seq.number },
        },
      );
    }
    return {
      kind: 'gap-allowed',
      detail: `channel ${seq.channel} starts here at #${seq.number}; allowed by --allow-gap`,
    };
  }
  if (seq.number === last.number && manifest === last.manifest)
    return { kind: 'same-package', detail: `package ${seq.number} on ${seq.channel} was already imported` };
  if (seq.number <= last.number) {
    throw new AirlockError(
      'E_SEQUENCE',
      `package ${seq.number} on channel ${seq.channel} is a replay or older: ${last.number} was imported already`,
      {
        details: { channel: seq.channel, number: seq.number, lastImported: last.number },
      },
    );
  }
  if (seq.number === last.number + 1) {
    if (seq.previous !== last.manifest) {
      throw new AirlockError(
        'E_SEQUENCE',
        `package ${seq.number} on ${seq.channel} does not follow the package imported last ` +
          `(previous ${seq.previous}, imported ${last.manifest}): a fork`,
        {
          details: { expected: last.manifest, found: seq.previous },
        },
      );
    }
    return { kind: 'next', detail: `package ${seq.number} follows ${last.number} on ${seq.channel}` };
  }
  if (!allowGap) {
    throw new AirlockError(
      'E_SEQUENCE',
      `package ${seq.number} on ${seq.channel} skips ${seq.number - last.number - 1} package(s) after ${last.number}`,
      {
        hint: 'import the missing packages first, or accept the gap explicitly with --allow-gap (recorded)',
        details: { expected: last.number + 1, found: seq.number },
      },
    );
  }
  return {
    kind: 'gap-allowed',
    detail:
      `package ${seq.number} on ${seq.channel} skips ${seq.number - last.number - 1} package(s); ` +
      `allowed by --allow-gap`,
  };
}
