// The `oci:DIR` store: an OCI image layout (image-spec v1.1 image-layout.md) as skopeo, cosign save and
// crane write it. Every read is verified against its digest; blobs are written temp-then-rename after
// verification, and index.json is rewritten atomically under a per-store lock.
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { digestBytes, parseDigest } from '../../crypto/digest.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { ALL_MANIFEST_TYPES } from '../media-types.ts';
import type { Descriptor, ImageIndex, ImageStore, StoredManifest } from '../types.ts';
import { fileSize, openVerifiedFile, readVerifiedFile, writeVerifiedFile } from './blob-io.ts';
import { blobPath, checkLayoutMarker, initLayout, readIndexFile, REF_NAME, writeIndexFile } from './layout-files.ts';
import { MAX_MANIFEST_SIZE, parseManifestBytes, type ParsedManifest, referrerDescriptor } from './manifest-json.ts';
import { addToReferrerMap, type ReferrerMap, scanReferrers } from './referrer-scan.ts';
import { Serial } from './serial.ts';

export interface LayoutStoreOptions {
  /** Create the layout (and folder) when absent; an existing layout is opened as is. */
  readonly create?: boolean;
  /** Overrides `oci:DIR` in messages (archives name their file, not their temp folder). */
  readonly description?: string;
}

/** cosign save's `kind` annotation (cosign-formats.md §5.1): only these kinds are "the image". */
const COSIGN_KIND = 'kind';
const COSIGN_IMAGE_KINDS = ['dev.cosignproject.cosign/image', 'dev.cosignproject.cosign/imageIndex'];
/** cosign's legacy attachment tags (`sha256-<hex>.sig|.att|.sbom`) name attachments, not images. */
const COSIGN_ATTACHMENT_TAG = /^sha(256|512)-[0-9a-f]+\.(sig|att|sbom)$/;

export function tagsHint(tags: readonly string[]): string {
  return tags.length > 0 ? `tags present: ${tags.join(', ')}` : 'the store holds no tags';
}

export class LayoutStore implements ImageStore {
  readonly description: string;
  readonly dir: string;
  readonly #index = new Serial();
  readonly #inflight = new Map<string, Promise<void>>();
  #referrers: Promise<ReferrerMap> | undefined;

  constructor(dir: string, description: string) {
    this.dir = dir;
    this.description = description;
  }

  async resolveTag(tag: string | undefined): Promise<Descriptor> {
    const index = await readIndexFile(this.dir);
    const tags = tagsOf(index);
    if (tag !== undefined) {
      const hits = index.manifests.filter((d) => d.annotations?.[REF_NAME] === tag);
      const digests = new Set(hits.map((d) => d.digest));
      if (digests.size > 1) {
        throw new AirlockError(
          'E_INPUT_MALFORMED',
          `${this.description}: tag '${tag}' names ${digests.size} different manifests in index.json`,
        );
      }
      const hit = hits[0];
      if (!hit)
        throw new AirlockError('E_INPUT_MISSING', `${this.description}: no tag '${tag}'`, { hint: tagsHint(tags) });
      return hit;
    }
    const images = await this.#images(index);
    const only = images[0];
    if (images.length === 1 && only) return only;
    if (images.length === 0) throw new AirlockError('E_INPUT_MISSING', `${this.description}: holds no image`);
    throw new AirlockError(
      'E_INPUT_MISSING',
      `${this.description}: holds ${images.length} images; name one by tag or digest`,
      {
        hint: tagsHint(tags),
      },
    );
  }

  /** index.json entries that are images: not cosign's sig/att images, not referrers, one per digest. */
  async #images(index: ImageIndex): Promise<Descriptor[]> {
    const byDigest = new Map<string, Descriptor>();
    for (const d of index.manifests) {
      if (!ALL_MANIFEST_TYPES.includes(d.mediaType) || byDigest.has(d.digest)) continue;
      const kind = d.annotations?.[COSIGN_KIND];
      if (kind !== undefined && !COSIGN_IMAGE_KINDS.includes(kind)) continue;
      if (COSIGN_ATTACHMENT_TAG.test(d.annotations?.[REF_NAME] ?? '')) continue;
      const parsed = await this.#parsed(d.digest, d.mediaType).catch(() => undefined);
      if (parsed?.subject) continue;
      byDigest.set(d.digest, d);
    }
    return [...byDigest.values()];
  }

  async #parsed(digest: string, hint?: string): Promise<ParsedManifest> {
    const bytes = await readVerifiedFile(blobPath(this.dir, digest), digest, this.description, MAX_MANIFEST_SIZE);
    return parseManifestBytes(bytes, `${this.description}: manifest ${digest}`, hint);
  }

  async getManifest(digest: string): Promise<StoredManifest> {
    const bytes = await readVerifiedFile(
      blobPath(this.dir, digest),
      digest,
      `${this.description}: manifest`,
      MAX_MANIFEST_SIZE,
    );
    // OCI manifests may omit mediaType; the shape (config vs manifests) then tells which it is.
    const parsed = parseManifestBytes(bytes, `${this.description}: manifest ${digest}`);
    return { bytes, mediaType: parsed.mediaType, digest };
  }

  async hasManifest(digest: string): Promise<boolean> {
    return (await fileSize(blobPath(this.dir, digest))) !== undefined;
  }

  getBlob(desc: Descriptor): Promise<Readable> {
    return openVerifiedFile(blobPath(this.dir, desc.digest), desc, this.description);
  }

  /** Present means present with the right size; a truncated file is rewritten rather than trusted. */
  async hasBlob(desc: Descriptor): Promise<boolean> {
    return (await fileSize(blobPath(this.dir, desc.digest))) === desc.size;
  }

  putBlob(desc: Descriptor, data: Readable | Uint8Array): Promise<void> {
    // A download may wait here (a stat, another writer of the same blob) before anything reads it. If
    // its connection fails meanwhile, the error must not crash the process: it stays on the stream
    // (`errored`), and the pipeline that reads it later reports it.
    if (!(data instanceof Uint8Array)) data.on('error', () => undefined);
    const pending = this.#inflight.get(desc.digest);
    // Another call is writing the same bytes: wait for it, and write ours only if that one failed.
    if (pending)
      return pending.then(
        () => drain(data),
        () => this.putBlob(desc, data),
      );
    const job = (async () => {
      if (await this.hasBlob(desc)) return drain(data);
      await writeVerifiedFile(blobPath(this.dir, desc.digest), this.dir, desc, data);
    })().finally(() => this.#inflight.delete(desc.digest));
    this.#inflight.set(desc.digest, job);
    return job;
  }

  async putManifest(manifest: StoredManifest, tag?: string): Promise<void> {
    const expected = parseDigest(manifest.digest);
    const actual = digestBytes(manifest.bytes, expected.algorithm);
    if (actual.hex !== expected.hex) {
      throw new AirlockError(
        'E_DIGEST_MISMATCH',
        `manifest: expected ${manifest.digest}, found ${expected.algorithm}:${actual.hex}`,
      );
    }
    const parsed = parseManifestBytes(manifest.bytes, `manifest ${manifest.digest}`, manifest.mediaType);
    if (parsed.mediaType !== manifest.mediaType) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `manifest ${manifest.digest} says mediaType ${parsed.mediaType}, was given as ${manifest.mediaType}`,
      );
    }
    if (tag !== undefined) await this.#assertComplete(manifest.digest, parsed);
    const desc: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    await this.putBlob(desc, manifest.bytes);
    if (parsed.subject)
      await this.#rememberReferrer(parsed.subject.digest, referrerDescriptor(parsed, desc.digest, desc.size));
    if (tag !== undefined) await this.#setTag(desc, tag);
  }

  /** A tag must never point at a manifest whose blobs are missing (ImageStore's contract). */
  async #assertComplete(digest: string, parsed: ParsedManifest): Promise<void> {
    const missing: string[] = [];
    for (const child of parsed.manifests) if (!(await this.hasManifest(child.digest))) missing.push(child.digest);
    // Layers with `urls` are foreign (non-distributable): registries and layouts may lack them.
    const blobs = [...(parsed.config ? [parsed.config] : []), ...parsed.layers.filter((l) => !l.urls?.length)];
    for (const blob of blobs) if (!(await this.hasBlob(blob))) missing.push(blob.digest);
    if (missing.length > 0) {
      throw new AirlockError(
        'E_INPUT_MISSING',
        `${this.description}: cannot tag ${digest}: it references ${missing.length} missing ` +
          `blob(s): ${missing.join(', ')}`,
      );
    }
  }

  #setTag(desc: Descriptor, tag: string): Promise<void> {
    return this.#index.run(async () => {
      const index = await readIndexFile(this.dir);
      const entry: Descriptor = { ...desc, annotations: { [REF_NAME]: tag } };
      // A moved tag keeps its place in index.json; further entries with the same name are dropped.
      let placed = false;
      const manifests: Descriptor[] = [];
      for (const d of index.manifests) {
        if (d.annotations?.[REF_NAME] !== tag) manifests.push(d);
        else if (!placed) {
          manifests.push(entry);
          placed = true;
        }
      }
      if (!placed) manifests.push(entry);
      await writeIndexFile(this.dir, manifests, index);
    });
  }

  async listTags(): Promise<string[]> {
    return tagsOf(await readIndexFile(this.dir));
  }

  async listReferrers(digest: string): Promise<Descriptor[]> {
    const map = await this.#referrerMap();
    return [...(map.get(digest)?.values() ?? [])].sort((a, b) => a.digest.localeCompare(b.digest));
  }

  /** One scan per store; our own writes keep it current afterwards. */
  #referrerMap(): Promise<ReferrerMap> {
    this.#referrers ??= scanReferrers(this.dir);
    return this.#referrers;
  }

  async #rememberReferrer(subject: string, desc: Descriptor): Promise<void> {
    if (this.#referrers) addToReferrerMap(await this.#referrers, subject, desc);
  }

  /** Lists the referrer in index.json, untagged, so it is reachable and never garbage-collected. */
  async addReferrer(subject: Descriptor, referrer: Descriptor): Promise<void> {
    if (!(await this.hasManifest(referrer.digest))) {
      throw new AirlockError(
        'E_INPUT_MISSING',
        `${this.description}: referrer ${referrer.digest} is not stored; put its manifest first`,
      );
    }
    // A referrer is not a tag target; a ref.name copied along would make it one.
    const { [REF_NAME]: _dropped, ...annotations } = referrer.annotations ?? {};
    const { annotations: _old, ...rest } = referrer;
    const entry: Descriptor = Object.keys(annotations).length > 0 ? { ...rest, annotations } : rest;
    await this.#index.run(async () => {
      const index = await readIndexFile(this.dir);
      if (index.manifests.some((d) => d.digest === referrer.digest && d.annotations?.[REF_NAME] === undefined)) return;
      await writeIndexFile(this.dir, [...index.manifests, entry], index);
    });
    const parsed = await this.#parsed(referrer.digest, referrer.mediaType);
    await this.#rememberReferrer(subject.digest, referrerDescriptor(parsed, referrer.digest, referrer.size));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#inflight.values());
  }
}

function drain(data: Readable | Uint8Array): void {
  if (!(data instanceof Uint8Array)) data.resume();
}

function tagsOf(index: ImageIndex): string[] {
  const tags = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => t !== undefined);
  return [...new Set(tags)];
}

export async function openLayoutStore(dir: string, options: LayoutStoreOptions = {}): Promise<LayoutStore> {
  if (options.create) {
    await initLayout(dir);
  } else {
    const st = await stat(dir).catch((err: unknown) => {
      throw fromFsError(err, dir);
    });
    if (!st.isDirectory()) throw new AirlockError('E_INPUT_MALFORMED', `${dir} is not a folder (an OCI layout is one)`);
    await checkLayoutMarker(dir);
    await readIndexFile(dir);
  }
  return new LayoutStore(dir, options.description ?? `oci:${dir}`);
}
