// An import that has begun to move tags, written down before the first tag moves. A registry cannot
// move several tags in one transaction, so an import is made recoverable instead: the journal
// ($AIRLOCK_HOME/imports/pending/CHANNEL.json) names each tag's move (from digest → to digest) and
// the channel state to write; its intent is in the audit trail before any of it happens; and a run
// killed or failed half-way is finished by the next import on that channel or `import --recover`.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';
import { makeDirs } from '../files/state-dir.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import type { ChannelState } from './sequence.ts';
import { readOptionalText } from '../files/read-file.ts';

export interface TagMove {
  /** HOST/REPO:TAG */
  readonly reference: string;
  /** Repository path on the registry, no host. */
  readonly repository: string;
  readonly tag: string;
  /** The digest the tag pointed at before (null: it did not exist). */
  readonly from: string | null;
  readonly to: string;
}

export interface PendingImport {
  readonly importId: string;
  readonly channel: string;
  /** The package as given, and its manifest digest and number on the channel. */
  readonly source: string;
  readonly manifest: string;
  readonly number: number;
  /** Registry host the tags live on. */
  readonly registry: string;
  /** Every image pushed, by digest: recovery checks they are still there before tagging them. */
  readonly images: ReadonlyArray<{ readonly name: string; readonly reference: string; readonly digest: string }>;
  /** Every other manifest a tag will name (cosign's legacy signature manifests), pushed by digest. */
  readonly pushed: readonly string[];
  readonly tags: readonly TagMove[];
  /** The channel state the import leaves (written after the tags). */
  readonly channelState: ChannelState;
  readonly startedAt: string;
}

function pendingDir(stateDir: string): string {
  return join(stateDir, 'imports', 'pending');
}

function pendingPath(stateDir: string, channel: string): string {
  return join(pendingDir(stateDir), `${channel}.json`);
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const CHANNEL = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

const isString = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/**
 * A journal as written by this machine, or E_IO. Recovery acts on it only after it also matches the
 * intent recorded in the audit trail (import-publish.ts); this check keeps what it acts on well formed:
 * every tag names a manifest the import pushed, the channel state is the package's.
 */
function parsePending(text: string, path: string, channel: string): PendingImport {
  let doc: Partial<PendingImport> | undefined;
  try {
    doc = JSON.parse(text) as Partial<PendingImport>;
  } catch {
    doc = undefined;
  }
  const images = Array.isArray(doc?.images) ? doc.images : undefined;
  const pushed = Array.isArray(doc?.pushed) ? doc.pushed : undefined;
  const targets = new Set([...(images ?? []).map((i) => i?.digest), ...(pushed ?? [])]);
  const ok =
    doc !== undefined &&
    isString(doc.importId, 128) &&
    doc.channel === channel &&
    CHANNEL.test(doc.channel) &&
    isString(doc.source) &&
    DIGEST.test(String(doc.manifest)) &&
    Number.isSafeInteger(doc.number) &&
    (doc.number ?? 0) >= 1 &&
    isString(doc.registry, 512) &&
    images !== undefined &&
    images.every((i) => isString(i?.name) && isString(i?.reference) && DIGEST.test(String(i?.digest))) &&
    pushed !== undefined &&
    pushed.every((d) => DIGEST.test(String(d))) &&
    Array.isArray(doc.tags) &&
    doc.tags.every(
      (t) =>
        isString(t?.reference) &&
        isString(t?.repository, 1024) &&
        isString(t?.tag, 128) &&
        (t.from === null || DIGEST.test(String(t.from))) &&
        targets.has(t.to),
    ) &&
    doc.channelState?.number === doc.number &&
    doc.channelState?.manifest === doc.manifest;
  if (!ok) {
    throw new AirlockError(
      'E_IO',
      `the pending import record ${path} is damaged or not airlock's: nothing is done with it`,
      {
        hint:
          'airlock audit show --action transfer.import shows what that import intended; restore ' +
          'the record from backup, or finish the import by hand and remove the record',
      },
    );
  }
  return doc as PendingImport;
}

export async function writePending(stateDir: string, pending: PendingImport): Promise<void> {
  await makeDirs(pendingDir(stateDir));
  await writeFileAtomic(pendingPath(stateDir, pending.channel), `${JSON.stringify(pending, null, 2)}\n`, {
    overwrite: true,
  });
}

export async function readPending(stateDir: string, channel: string): Promise<PendingImport | undefined> {
  const path = pendingPath(stateDir, channel);
  const text = await readOptionalText(path, 'a pending import record', 16 * 1024 * 1024);
  return text === undefined ? undefined : parsePending(text, path, channel);
}

/** Every pending import on this machine, by channel. */
export async function listPending(stateDir: string): Promise<PendingImport[]> {
  const dir = pendingDir(stateDir);
  const names = await readdir(dir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
    throw fromFsError(err, dir);
  });
  const out: PendingImport[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const pending = await readPending(stateDir, name.slice(0, -'.json'.length));
    if (pending) out.push(pending);
  }
  return out;
}

export async function removePending(stateDir: string, channel: string): Promise<void> {
  await rm(pendingPath(stateDir, channel), { force: true });
}

/** An import whose intent is in the audit trail without its completion. */
export interface IncompleteImport {
  readonly importId: string;
  readonly channel: string;
  readonly number: number;
  /** Index of the last intent event of it. */
  readonly index: number;
  readonly time: string;
  readonly tags: readonly string[];
}

const INTENTS = new Set(['transfer.import.tags', 'transfer.import.recover']);

/**
 * The imports the audit trail shows as begun but not finished: a tag intent (or a recovery's) with no
 * later `transfer.import` ok carrying the same import id. Pure: events in, list out.
 */
export function incompleteImports(
  events: ReadonlyArray<{
    readonly index: number;
    readonly event: {
      readonly action: string;
      readonly result: string;
      readonly time: string;
      readonly details?: Readonly<Record<string, unknown>>;
    };
  }>,
): IncompleteImport[] {
  const open = new Map<string, IncompleteImport>();
  for (const { index, event } of events) {
    const d = (event.details ?? {}) as { importId?: unknown; channel?: unknown; number?: unknown; tags?: unknown };
    if (typeof d.importId !== 'string') continue;
    if (INTENTS.has(event.action)) {
      const tags = Array.isArray(d.tags) ? d.tags.map((t) => String((t as { tag?: unknown })?.tag ?? t)) : [];
      open.set(d.importId, {
        importId: d.importId,
        channel: String(d.channel ?? '?'),
        number: Number(d.number ?? 0),
        index,
        time: event.time,
        tags,
      });
    } else if (event.action === 'transfer.import' && event.result === 'ok') {
      open.delete(d.importId);
    }
  }
  return [...open.values()];
}
