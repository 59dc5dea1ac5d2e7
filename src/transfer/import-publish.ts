// The last steps of an import, where it changes the world: images pushed by digest (invisible until
// tagged), then the tags — the images' own and cosign's `.sig/.att/.sbom` tags of their signatures —
// their owners and the channel state, each only after the audit record that names it is durable
// (write-ahead):
//   1. push every image by digest (streamed layers committed first); nothing is tagged yet;
//   2. under the tag owners' lock: read where each tag points now, check no other channel owns it,
//      write the journal (import-journal.ts), record the intent (each tag from → to, the channel move);
//   3. claim the tags for the channel, move them, write the channel state;
//   4. (the caller) record the import's completion, then drop the journal.
// A kill or a registry error between 2 and 4 leaves the journal: `finishPending` completes it, once
// the journal matches the intent the audit trail holds for it.
import { createHash } from 'node:crypto';
import { json } from '@sigstore/core';
import { AirlockError, isAirlockError } from '../errors.ts';
import { copyImage } from '../oci/copy.ts';
import type { ImageStore } from '../oci/types.ts';
import { type Recorder, recordBeforeEffect } from '../recorder.ts';
import { bounded } from '../text.ts';
import { type Landing, OpenDestinations, type TargetRegistry } from './destinations.ts';
import type { ImageArtifact, TransferMetadata } from './format.ts';
import type { LayerStreams } from './import-layers.ts';
import { type PendingImport, removePending, type TagMove, writePending } from './import-journal.ts';
import type { ProgressSink } from './progress.ts';
import { writeChannel } from './sequence.ts';
import { checkTagOwners, claimTags, lockTagOwners, ownedTag, readTagOwners } from './tag-owners.ts';

export interface PushedImage {
  readonly name: string;
  readonly reference: string;
  readonly digest: string;
  /** cosign's legacy signature tags of this image, pushed by digest and left for the tag step. */
  readonly legacy: ReadonlyArray<{ readonly tag: string; readonly digest: string }>;
}

/** Step 1: every image and what it references, by digest; what the repository holds already is skipped. */
export async function pushImages(
  layout: ImageStore,
  metadata: TransferMetadata,
  dests: OpenDestinations,
  layers: LayerStreams | undefined,
  landings: ReadonlyMap<ImageArtifact, Landing>,
  onProgress?: ProgressSink,
): Promise<PushedImage[]> {
  const images = metadata.artifacts.filter((a): a is ImageArtifact => a.kind === 'image');
  const pushed: PushedImage[] = [];
  for (const [i, artifact] of images.entries()) {
    const where = landings.get(artifact);
    if (!where) throw new AirlockError('E_INTERNAL', `no destination for ${artifact.name}`);
    onProgress?.({ step: `pushing ${artifact.name} → ${where.reference}`, images: { done: i, total: images.length } });
    const dst = await dests.open(where.reference);
    await layers?.commit(where.reference);
    const subject = await layout.resolveTag(artifact.layoutTag);
    const copied = await copyImage(layout, subject, dst.store, { deferLegacyTags: true });
    pushed.push({ name: artifact.name, reference: where.reference, digest: subject.digest, legacy: copied.legacyTags });
  }
  return pushed;
}

/** Where a tag points now: its digest, or null when the repository has no such tag. */
async function currentDigest(store: ImageStore, tag: string): Promise<string | null> {
  try {
    return (await store.resolveTag(tag)).digest;
  } catch (err) {
    if (isAirlockError(err, 'E_INPUT_MISSING')) return null;
    throw err;
  }
}

/** The tag moves of this import — each image's tag, and its legacy signature tags — with where each points now. */
export async function planTagMoves(
  pushed: readonly PushedImage[],
  landings: ReadonlyMap<ImageArtifact, Landing>,
  dests: OpenDestinations,
): Promise<TagMove[]> {
  const moves: TagMove[] = [];
  for (const [artifact, where] of landings) {
    const image = pushed.find((p) => p.name === artifact.name);
    if (!image) throw new AirlockError('E_INTERNAL', `${artifact.name} was not pushed`);
    const { store } = await dests.open(where.reference);
    const repository = where.tag ? where.reference.slice(0, -(where.tag.length + 1)) : where.reference;
    const wanted = [...(where.tag ? [{ tag: where.tag, digest: image.digest }] : []), ...image.legacy];
    for (const { tag, digest } of wanted)
      moves.push({
        reference: `${repository}:${tag}`,
        repository: where.repository,
        tag,
        from: await currentDigest(store, tag),
        to: digest,
      });
  }
  return moves;
}

const ownedTags = (pending: PendingImport) => pending.tags.map((t) => ownedTag(t.repository, t.tag));
const subjectsOf = (pending: PendingImport) => pending.images.map((i) => ({ name: i.reference, digest: i.digest }));

/** The repository a tag lives in, opened as a store: `HOST/REPO:TAG` → `HOST/REPO`. */
function repositoryOf(move: TagMove): string {
  return move.reference.slice(0, move.reference.length - move.tag.length - 1);
}

/**
 * Step 3, and all of recovery: the tags claimed for the channel (so an import stopped half-way keeps
 * what it moved from other channels), each tag to its `to` digest (one already there is left), the
 * channel state. A tag someone else moved meanwhile (neither `from` nor `to`) is not overwritten: the
 * import stays incomplete, and says which tag and where it points.
 */
async function apply(stateDir: string, pending: PendingImport, dests: OpenDestinations): Promise<void> {
  await claimTags(stateDir, pending.channel, ownedTags(pending));
  for (const move of pending.tags) {
    const { store } = await dests.open(repositoryOf(move));
    const now = await currentDigest(store, move.tag);
    if (now === move.to) continue;
    if (now !== move.from) {
      throw new AirlockError(
        'E_IMPORT_INCOMPLETE',
        `${bounded(move.reference, 200)} was moved to ${now ?? 'nothing'} by someone else after ` +
          `this import began (it was ${move.from ?? 'absent'}, the import sets ${move.to})`,
        {
          hint: 'decide which image the tag should name, set it by hand, then run `airlock import --recover` again',
          details: { tag: move.reference, from: move.from, to: move.to, now },
        },
      );
    }
    await store.putManifest(await store.getManifest(move.to), move.tag);
  }
  await writeChannel(stateDir, 'in', pending.channel, pending.channelState);
}

/** Key order does not matter (the audit trail stores events in RFC 8785 form, keys sorted): compare canonical forms. */
const canonical = (value: unknown): string => json.canonicalize(JSON.parse(JSON.stringify(value)));

/**
 * What the intent records, and what recovery compares the journal with. `journal` is the SHA-256 of the
 * whole journal's canonical form: the readable lists in an audit event are bounded (32 items), the
 * digest holds every tag and the channel state at any size.
 */
export function intentDetails(pending: PendingImport) {
  return {
    importId: pending.importId,
    channel: pending.channel,
    number: pending.number,
    journal: `sha256:${createHash('sha256').update(canonical(pending)).digest('hex')}`,
    tags: pending.tags.map((t) => ({ tag: t.reference, from: t.from, to: t.to })),
    channelState: { number: pending.channelState.number, manifest: pending.channelState.manifest },
  };
}

/**
 * Steps 2 and 3 of an import whose images are all pushed. On return the tags, owners and channel
 * state are in place and the journal still exists: the caller records the completion, then removes it.
 */
export async function moveTags(
  stateDir: string,
  pending: PendingImport,
  dests: OpenDestinations,
  record: Recorder,
): Promise<void> {
  await applyUnderLock(stateDir, pending, dests, async () => {
    checkTagOwners(await readTagOwners(stateDir), pending.channel, ownedTags(pending));
    await writePending(stateDir, pending);
    try {
      await recordBeforeEffect(
        record,
        {
          action: 'transfer.import.tags',
          result: 'ok',
          subjects: subjectsOf(pending),
          details: { ...intentDetails(pending), phase: 'intent' },
        },
        'moving the tags and the channel',
      );
    } catch (err) {
      await removePending(stateDir, pending.channel); // nothing was moved: nothing to finish
      throw err;
    }
  });
}

/**
 * Holding the tag owners' lock (lockTagOwners says why): `before`, which records the intent, then the
 * tags and the channel move. A `before` that throws moves nothing.
 */
async function applyUnderLock(
  stateDir: string,
  pending: PendingImport,
  dests: OpenDestinations,
  before: () => Promise<void>,
): Promise<void> {
  const lock = await lockTagOwners(stateDir);
  try {
    await before();
    await apply(stateDir, pending, dests);
  } finally {
    await lock.release();
  }
}

/** The intents the audit trail holds for an import id (details of its `transfer.import.tags` and `.recover` events). */
export type IntentLookup = (importId: string) => Promise<ReadonlyArray<Readonly<Record<string, unknown>>>>;

/**
 * Whether the journal is the one this machine wrote: the audit trail (tamper-evident, signed) must hold
 * an intent with exactly its tags and channel state. A journal planted in $AIRLOCK_HOME, or edited
 * there, is never acted on. `none`: no intent was ever recorded — the import stopped before it moved
 * anything, and the journal can go.
 */
async function matchIntent(pending: PendingImport, intents: IntentLookup): Promise<'matches' | 'none'> {
  const recorded = await intents(pending.importId);
  if (recorded.length === 0) return 'none';
  const want = intentDetails(pending).journal;
  const same = recorded.some((d) => d.journal === want);
  if (same) return 'matches';
  throw new AirlockError(
    'E_IMPORT_INCOMPLETE',
    `the pending import record of channel ${pending.channel} does not match the intent the audit ` +
      `trail holds for import ${bounded(pending.importId, 80)}: nothing is done with it`,
    {
      hint:
        'someone or something changed $AIRLOCK_HOME/imports/pending; compare it with `airlock ' +
        'audit show --action transfer.import`, and keep both as evidence',
      details: { importId: pending.importId, channel: pending.channel },
    },
  );
}

/** A journal with no recorded intent moved nothing: it goes, and that is recorded first. */
async function dropUnstarted(stateDir: string, pending: PendingImport, record: Recorder): Promise<'dropped'> {
  await recordBeforeEffect(
    record,
    {
      action: 'transfer.import.recover',
      result: 'ok',
      subjects: subjectsOf(pending),
      details: {
        importId: pending.importId,
        channel: pending.channel,
        phase: 'dropped',
        why: 'no intent was recorded: the import stopped before it moved anything',
      },
    },
    'dropping the pending import record',
  );
  await removePending(stateDir, pending.channel);
  return 'dropped';
}

/**
 * Each manifest a tag will name must still be there: the image in its repository, a legacy signature
 * manifest in the repository of the tag that names it.
 */
async function checkManifestsStillThere(pending: PendingImport, dests: OpenDestinations): Promise<void> {
  const needed = [
    ...pending.images.map((i) => ({ where: i.reference, digest: i.digest })),
    ...pending.tags.map((t) => ({ where: repositoryOf(t), digest: t.to })),
  ];
  for (const { where, digest } of needed) {
    const { store } = await dests.open(where);
    if (await store.hasManifest(digest)) continue;
    throw new AirlockError(
      'E_IMPORT_INCOMPLETE',
      `${bounded(where, 200)}@${digest} is no longer in the registry: the import of ` +
        `${bounded(pending.source, 200)} cannot be finished`,
      {
        hint:
          'import the package again (the same package re-runs cleanly once its journal is ' +
          'resolved), or restore the registry',
        details: { importId: pending.importId, repository: where, digest },
      },
    );
  }
}

/**
 * Under the tag-owner lock: records that the import finishes (the original intent may be older than the
 * tags now), then moves what is left.
 */
async function applyRecorded(
  stateDir: string,
  pending: PendingImport,
  dests: OpenDestinations,
  record: Recorder,
): Promise<void> {
  await applyUnderLock(stateDir, pending, dests, () =>
    recordBeforeEffect(
      record,
      {
        action: 'transfer.import.recover',
        result: 'ok',
        subjects: subjectsOf(pending),
        details: { ...intentDetails(pending), phase: 'intent', startedAt: pending.startedAt },
      },
      'finishing the import',
    ),
  );
}

async function recordFinished(pending: PendingImport, record: Recorder): Promise<void> {
  await record({
    action: 'transfer.import',
    result: 'ok',
    subjects: [
      { name: pending.source, digest: pending.manifest },
      ...pending.images.map((i) => ({ name: i.name, digest: i.digest })),
    ],
    details: {
      importId: pending.importId,
      recovered: true,
      channel: pending.channel,
      number: pending.number,
      tags: pending.tags.map((t) => t.reference),
    },
  });
}

/**
 * Finishes an import a crash or a registry error left half-way: checks the journal against the recorded
 * intent and each pushed manifest is still in the registry, records that it finishes, moves what is
 * left, writes the channel state, records the completion and drops the journal. A journal with no
 * recorded intent moved nothing: it is dropped, and that is recorded. Returns what was done.
 */
export async function finishPending(
  stateDir: string,
  pending: PendingImport,
  registry: TargetRegistry,
  record: Recorder,
  intents: IntentLookup,
): Promise<'finished' | 'dropped'> {
  if ((await matchIntent(pending, intents)) === 'none') return dropUnstarted(stateDir, pending, record);
  const dests = new OpenDestinations(registry);
  try {
    await checkManifestsStillThere(pending, dests);
    await applyRecorded(stateDir, pending, dests, record);
    await recordFinished(pending, record);
    await removePending(stateDir, pending.channel);
    return 'finished';
  } finally {
    await dests.close();
  }
}
