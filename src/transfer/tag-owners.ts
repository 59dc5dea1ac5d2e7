// Which channel owns each tag this machine's imports have written ($AIRLOCK_HOME/imports/tag-owners.json):
// the first channel to write a tag owns it, and no other channel may move it. Otherwise a package on a
// channel with a laxer rule (another team's, a test channel) could repoint prod's `app:1.0` — or the
// `.sig` tag holding an image's signatures. A tag is its repository path and name (`mirror/app:1.0`),
// whatever the registry host was spelled as: `localhost:5000` and `127.0.0.1:5000` are one registry to
// an attacker, and keying on the spelling would let one name move what the other owns.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockError, isAirlockError } from '../errors.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { acquireLock, type HeldLock } from '../files/lock-file.ts';
import { readOptionalText } from '../files/read-file.ts';
import { makeDirs } from '../files/state-dir.ts';
import { bounded } from '../text.ts';

export type TagOwners = ReadonlyMap<string, string>;

/** What ownership is keyed on: `REPOSITORY:TAG`, no host. */
export function ownedTag(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

function ownersDir(stateDir: string): string {
  return join(stateDir, 'imports');
}

function ownersPath(stateDir: string): string {
  return join(ownersDir(stateDir), 'tag-owners.json');
}

export async function readTagOwners(stateDir: string): Promise<Map<string, string>> {
  const path = ownersPath(stateDir);
  const text = await readOptionalText(path, 'the tag owners file', 64 * 1024 * 1024);
  if (text === undefined) return new Map();
  try {
    const doc = JSON.parse(text) as { owners?: Record<string, unknown> };
    const entries = Object.entries(doc.owners ?? {});
    if (!doc.owners || entries.some(([, v]) => typeof v !== 'string')) throw new Error('no owners map');
    return new Map(entries as Array<[string, string]>);
  } catch (err) {
    // Read as "nobody owns anything", a damaged file would let any channel move any tag.
    throw new AirlockError('E_IO', `${path} is damaged: ${(err as Error).message}`, {
      hint: 'restore it from backup; airlock will not guess who owns which tag',
    });
  }
}

/** E_CHANNEL when one of `tags` (`REPOSITORY:TAG`) is owned by another channel. */
export function checkTagOwners(owners: TagOwners, channel: string, tags: readonly string[]): void {
  for (const tag of tags) {
    const owner = owners.get(tag);
    if (owner !== undefined && owner !== channel) {
      throw new AirlockError(
        'E_CHANNEL',
        `${bounded(tag, 200)} belongs to channel ${owner}; a package on channel ${channel} may not move it`,
        {
          hint: 'pack it under another name (pack --name), or carry it on its own channel',
          details: { tag, owner, channel },
        },
      );
    }
  }
}

/** Records `channel` as the owner of `tags` (kept owners stay). */
export async function claimTags(stateDir: string, channel: string, tags: readonly string[]): Promise<void> {
  const owners = await readTagOwners(stateDir);
  checkTagOwners(owners, channel, tags);
  if (tags.every((t) => owners.get(t) === channel)) return;
  for (const t of tags) owners.set(t, channel);
  const sorted = Object.fromEntries([...owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await makeDirs(ownersDir(stateDir));
  await writeFileAtomic(ownersPath(stateDir), `${JSON.stringify({ owners: sorted }, null, 2)}\n`, { overwrite: true });
}

/**
 * The owners file's lock, held while tags move: imports on two channels may run at once, and both may
 * reach their tags together. Held for seconds at most, so waiting (bounded) beats refusing.
 */
export async function lockTagOwners(stateDir: string, timeoutMs = 60_000, now = Date.now): Promise<HeldLock> {
  const deadline = now() + timeoutMs;
  await makeDirs(ownersDir(stateDir));
  for (;;) {
    try {
      return await acquireLock(join(ownersDir(stateDir), 'tag-owners.lock'), 'the tag owners of this machine');
    } catch (err) {
      if (!isAirlockError(err, 'E_UNAVAILABLE') || now() >= deadline) throw err;
      await sleep(50);
    }
  }
}
