// The last steps of an import, where it changes the world: images pushed by digest (invisible until
// tagged), then the tags, the tag owners and the channel state — each of those only after the audit
// record that names it is durable (write-ahead):
//   1. push every image by digest (streamed layers committed first); nothing is tagged yet;
//   2. under the tag owners' lock: read where each tag points now, check no other channel owns it,
//      write the journal (import-journal.ts), record the intent (each tag from → to, the channel move);
//   3. move the tags, record the owners, write the channel state;
//   4. (the caller) record the import's completion, then drop the journal.
// A kill or a registry error between 2 and 4 leaves the journal: `finishPending` completes it.
import { type Recorder, recordBeforeEffect } from '../recorder.ts';
import { AirlockError, isAirlockError } from '../errors.ts';
import { copyImage } from '../oci/copy.ts';
import type { ImageStore } from '../oci/types.ts';
import { bounded } from '../text.ts';
import { type Landing, OpenDestinations } from './destinations.ts';
import type { ImageArtifact, TransferMetadata } from './format.ts';
import type { LayerStreams } from './import-layers.ts';
import type { ProgressSink } from './progress.ts';
import { type PendingImport, removePending, type TagMove, writePending } from './import-journal.ts';
import { writeChannel } from './sequence.ts';
import { checkTagOwners, lockTagOwners, readTagOwners, writeTagOwners } from './tag-owners.ts';

export interface PushedImage {
  readonly name: string;
  readonly reference: string;
  readonly digest: string;
}

/** Step 1: every image and what it references, by digest; what the repository holds already is skipped. */
export async function pushImages(layout: ImageStore, metadata: TransferMetadata, dests: OpenDestinations, layers: LayerStreams | undefined, landings: ReadonlyMap<ImageArtifact, Landing>, onProgress?: ProgressSink): Promise<PushedImage[]> {
  const images = metadata.artifacts.filter((a): a is ImageArtifact => a.kind === 'image');
  const pushed: PushedImage[] = [];
  for (const [i, artifact] of images.entries()) {
    const where = landings.get(artifact);
    if (!where) throw new AirlockError('E_INTERNAL', `no destination for ${artifact.name}`);
    onProgress?.({ step: `pushing ${artifact.name} → ${where.reference}`, images: { done: i, total: images.length } });
    const dst = await dests.open(where.reference);
    await layers?.commit(where.reference);
    const subject = await layout.resolveTag(artifact.layoutTag);
    await copyImage(layout, subject, dst.store, {});
    pushed.push({ name: artifact.name, reference: where.reference, digest: subject.digest });
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

/** The tag moves of this import, each with where the tag points now. */
export async function planTagMoves(pushed: readonly PushedImage[], landings: ReadonlyMap<ImageArtifact, Landing>, dests: OpenDestinations): Promise<TagMove[]> {
  const moves: TagMove[] = [];
  for (const [artifact, where] of landings) {
    if (where.tag === undefined) continue;
    const image = pushed.find((p) => p.name === artifact.name);
    if (!image) throw new AirlockError('E_INTERNAL', `${artifact.name} was not pushed`);
    const { store } = await dests.open(where.reference);
    moves.push({ reference: where.reference, repository: where.repository, tag: where.tag, from: await currentDigest(store, where.tag), to: image.digest });
  }
  return moves;
}

/**
 * Step 3, and all of recovery: each tag to its `to` digest (one already there is left), the owners,
 * the channel state. A tag someone else moved meanwhile (neither `from` nor `to`) is not overwritten:
 * the import stays incomplete, and says which tag and where it points.
 */
async function apply(stateDir: string, pending: PendingImport, dests: OpenDestinations): Promise<void> {
  for (const move of pending.tags) {
    const { store } = await dests.open(move.reference);
    const now = await currentDigest(store, move.tag);
    if (now === move.to) continue;
    if (now !== move.from) {
      throw new AirlockError('E_IMPORT_INCOMPLETE', `${bounded(move.reference, 200)} was moved to ${now ?? 'nothing'} by someone else after this import began (it was ${move.from ?? 'absent'}, the import sets ${move.to})`, {
        hint: 'decide which image the tag should name, set it by hand, then run `airlock import --recover` again',
        details: { tag: move.reference, from: move.from, to: move.to, now },
      });
    }
    await store.putManifest(await store.getManifest(move.to), move.tag);
  }
  const owners = await readTagOwners(stateDir);
  for (const move of pending.tags) owners.set(move.reference, pending.channel);
  await writeTagOwners(stateDir, owners);
  await writeChannel(stateDir, 'in', pending.channel, pending.channelState);
}

function intentDetails(pending: PendingImport) {
  return {
    importId: pending.importId,
    channel: pending.channel,
    number: pending.number,
    tags: pending.tags.map((t) => ({ tag: t.reference, from: t.from, to: t.to })),
    channelState: { number: pending.channelState.number, manifest: pending.channelState.manifest },
  };
}

/**
 * Steps 2 and 3 of an import whose images are all pushed. On return the tags, owners and channel
 * state are in place and the journal still exists: the caller records the completion, then calls
 * `finishPending`'s last step (`removePending`).
 */
export async function moveTags(stateDir: string, pending: PendingImport, dests: OpenDestinations, record: Recorder): Promise<void> {
  const lock = await lockTagOwners(stateDir);
  try {
    checkTagOwners(await readTagOwners(stateDir), pending.channel, pending.tags.map((t) => t.reference));
    await writePending(stateDir, pending);
    try {
      await recordBeforeEffect(record, { action: 'transfer.import.tags', result: 'ok', subjects: pending.images.map((i) => ({ name: i.reference, digest: i.digest })), details: { ...intentDetails(pending), phase: 'intent' } }, 'moving the tags and the channel');
    } catch (err) {
      await removePending(stateDir, pending.channel); // nothing was moved: nothing to finish
      throw err;
    }
    await apply(stateDir, pending, dests);
  } finally {
    await lock.release();
  }
}

/**
 * Finishes an import a crash or a registry error left half-way: records that it does (the original
 * intent may not have reached the trail), checks each image is still in the registry, moves what is
 * left, writes the channel state, records the completion and drops the journal.
 */
export async function finishPending(stateDir: string, pending: PendingImport, registry: ConstructorParameters<typeof OpenDestinations>[0], record: Recorder): Promise<void> {
  const dests = new OpenDestinations(registry);
  try {
    for (const image of pending.images) {
      const { store } = await dests.open(image.reference);
      if (!(await store.hasManifest(image.digest))) {
        throw new AirlockError('E_IMPORT_INCOMPLETE', `${bounded(image.reference, 200)}@${image.digest} is no longer in the registry: the import of ${bounded(pending.source, 200)} cannot be finished`, {
          hint: 'import the package again (the same package re-runs cleanly once its journal is resolved), or restore the registry',
          details: { importId: pending.importId, image: image.reference, digest: image.digest },
        });
      }
    }
    const lock = await lockTagOwners(stateDir);
    try {
      await recordBeforeEffect(record, { action: 'transfer.import.recover', result: 'ok', subjects: pending.images.map((i) => ({ name: i.reference, digest: i.digest })), details: { ...intentDetails(pending), phase: 'intent', startedAt: pending.startedAt } }, 'finishing the import');
      await apply(stateDir, pending, dests);
    } finally {
      await lock.release();
    }
    await record({ action: 'transfer.import', result: 'ok', subjects: [{ name: pending.source, digest: pending.manifest }, ...pending.images.map((i) => ({ name: i.name, digest: i.digest }))], details: { importId: pending.importId, recovered: true, channel: pending.channel, number: pending.number, tags: pending.tags.map((t) => t.reference) } });
    await removePending(stateDir, pending.channel);
  } finally {
    await dests.close();
  }
}
