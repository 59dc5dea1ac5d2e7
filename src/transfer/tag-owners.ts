// Which channel owns each tag this machine's imports have written ($AIRLOCK_HOME/channels/in/tags.json):
// the first channel to write a tag owns it, and no other channel may move it. Otherwise a package on
// a channel with a laxer rule (another team's, a test channel) could repoint prod's `app:1.0`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockError, fromFsError, isAirlockError } from '../errors.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { acquireLock, type HeldLock } from '../files/lock-file.ts';
import { bounded } from '../text.ts';

export type TagOwners = ReadonlyMap<string, string>;

function ownersPath(stateDir: string): string {
  return join(stateDir, 'channels', 'in', 'tags.json');
}

export async function readTagOwners(stateDir: string): Promise<Map<string, string>> {
  const path = ownersPath(stateDir);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromFsError(err, path);
  });
  if (text === undefined) return new Map();
  try {
    const doc = JSON.parse(text) as { owners?: Record<string, unknown> };
    const entries = Object.entries(doc.owners ?? {});
    if (!doc.owners || entries.some(([, v]) => typeof v !== 'string')) throw new Error('no owners map');
    return new Map(entries as Array<[string, string]>);
  } catch (err) {
    // Read as "nobody owns anything", a damaged file would let any channel move any tag.
    throw new AirlockError('E_IO', `${path} is damaged: ${(err as Error).message}`, { hint: 'restore it from backup; airlock will not guess who owns which tag' });
  }
}

/** E_CHANNEL when one of `references` (HOST/REPO:TAG) is owned by another channel. */
export function checkTagOwners(owners: TagOwners, channel: string, references: readonly string[]): void {
  for (const ref of references) {
    const owner = owners.get(ref);
    if (owner !== undefined && owner !== channel) {
      throw new AirlockError('E_CHANNEL', `${bounded(ref, 200)} belongs to channel ${owner}; a package on channel ${channel} may not move it`, {
        hint: 'pack it under another name (pack --name), or carry it on its own channel',
        details: { tag: ref, owner, channel },
      });
    }
  }
}

export async function writeTagOwners(stateDir: string, owners: TagOwners): Promise<void> {
  const sorted = Object.fromEntries([...owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFileAtomic(ownersPath(stateDir), `${JSON.stringify({ owners: sorted }, null, 2)}\n`, { overwrite: true });
}

/**
 * The owners file's lock, held while tags move: imports on two channels may run at once, and both may
 * reach their tags together. Held for seconds at most, so waiting (bounded) beats refusing.
 */
export async function lockTagOwners(stateDir: string, timeoutMs = 60_000, now = Date.now): Promise<HeldLock> {
  const deadline = now() + timeoutMs;
  for (;;) {
    try {
      return await acquireLock(join(stateDir, 'channels', 'in', 'tags.lock'), 'the tag owners of this machine');
    } catch (err) {
      if (!isAirlockError(err, 'E_UNAVAILABLE') || now() >= deadline) throw err;
      await sleep(50);
    }
  }
}
