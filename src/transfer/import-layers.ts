// Image layers go straight from the package to where they are needed while the package is read,
// instead of into staging and out again: for import, into an upload session on the destination
// repository; for inspect, nowhere (only their hash matters). The package's other files (metadata,
// manifests, configs, signatures, SBOMs) are staged as before, and every byte is hashed and checked
// against the signed manifest either way.
//
// Fail closed: a layer in an upload session is not in the repository — no GET or HEAD by digest
// finds it — until the session is committed, and sessions are committed only after every check of
// the import has passed. A refused or failed import cancels them (and the registry purges stale
// sessions by itself). The registry checks each blob against its digest again at commit.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { isIndexDoc, parseManifestJson } from '../oci/manifest.ts';
import { INDEX_TYPES } from '../oci/media-types.ts';
import { MAX_MANIFEST_BYTES, type RegistryStore } from '../oci/registry/store.ts';
import type { StreamedUpload } from '../oci/registry/upload.ts';
import type { Descriptor } from '../oci/types.ts';
import type { ImageArtifact } from './format.ts';
import type { PayloadSink } from './package/admit.ts';

const DISCARD: PayloadSink = { write: async () => undefined, end: async () => undefined };
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Marks what the registry side of a diverted layer threw, so it is never mistaken for a verdict on the package. */
export class LayerUploadError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'LayerUploadError';
  }
}

async function registrySide<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new LayerUploadError(err);
  }
}

export interface LayerStreamsOptions {
  /** The package's OCI layout folder inside staging. */
  readonly layoutDir: string;
  /** The layout's path inside the package ('oci'). */
  readonly layoutPath: string;
  /** Package paths that must stay in staging whatever they are (file artifacts and their bundles). */
  readonly keep: ReadonlySet<string>;
  /** Each image and, for import, the destination it lands on. */
  readonly images: ReadonlyArray<{ readonly artifact: ImageArtifact; readonly where?: string }>;
  /** Import: the registry store for a destination (opened once, shared with the push). Inspect: absent. */
  readonly open?: (where: string) => Promise<RegistryStore>;
}

export class LayerStreams {
  readonly #options: LayerStreamsOptions;
  readonly #blobPath: RegExp;
  /** Layer digest → its descriptor and the one destination that needs it (undefined: several do). */
  #layers: Map<string, { desc: Descriptor; where: string | undefined }> | undefined;
  readonly #byWhere = new Map<string, StreamedUpload[]>();

  constructor(options: LayerStreamsOptions) {
    this.#options = options;
    this.#blobPath = new RegExp(`^${options.layoutPath}/blobs/sha256/([0-9a-f]{64})$`);
  }

  /** `ReadPackageOptions.divert`: takes an image layer once the manifests naming it are staged. */
  readonly divert = async (path: string, size: number, sha256: string): Promise<PayloadSink | undefined> => {
    const hex = this.#blobPath.exec(path)?.[1];
    // A blob whose name is not its listed hash stays in staging, where the layout's own read check names it.
    if (hex === undefined || hex !== sha256 || size === 0 || this.#options.keep.has(path)) return undefined;
    const layer = (await this.#mapping())?.get(`sha256:${hex}`);
    if (!layer || layer.desc.size !== size) return undefined;
    if (!this.#options.open) return DISCARD;
    if (layer.where === undefined) return undefined; // needed in several repositories: staged, pushed from there
    const where = layer.where;
    const upload = await registrySide(async () => (await this.#options.open!(where)).openUpload(layer.desc));
    this.#byWhere.set(where, [...(this.#byWhere.get(where) ?? []), upload]);
    return { write: (chunk) => registrySide(() => upload.write(chunk)), end: () => registrySide(() => upload.end()) };
  };

  /**
   * Which blobs are image layers and where each lands, from the image manifests once all of them are
   * staged (pack writes small files first). Until then, and for anything unreadable, none: those
   * blobs are simply staged, and the checks after the read judge the manifests.
   */
  async #mapping(): Promise<Map<string, { desc: Descriptor; where: string | undefined }> | undefined> {
    if (this.#layers) return this.#layers;
    const layers = new Map<string, { desc: Descriptor; where: string | undefined }>();
    try {
      for (const { artifact, where } of this.#options.images) {
        const top = await this.#staged(artifact.digest);
        const manifests = isIndexDoc(top) ? await Promise.all(top.manifests.map((m) => this.#staged(m.digest))) : [top];
        for (const manifest of manifests) {
          if (isIndexDoc(manifest)) throw new Error('nested index'); // not worth the walk: staged instead
          // Foreign layers (with urls) are not carried; copy skips them, so must this.
          for (const desc of manifest.layers.filter((d) => !d.urls?.length && DIGEST.test(d.digest))) {
            const seen = layers.get(desc.digest);
            layers.set(desc.digest, { desc, where: seen && seen.where !== where ? undefined : where });
          }
        }
      }
    } catch (err) {
      // Not staged yet: ask again at the next layer. Anything else: nothing is diverted.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#layers = new Map();
      return this.#layers;
    }
    this.#layers = layers;
    return layers;
  }

  /** A staged manifest by digest: only a sha256 name inside the layout, only a manifest-sized file. */
  async #staged(digest: string): Promise<ReturnType<typeof parseManifestJson>> {
    if (!DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    const handle = await open(join(this.#options.layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_MANIFEST_BYTES) throw new Error('too large for a manifest');
      const bytes = await handle.readFile();
      const doc = parseManifestJson({ bytes, digest, mediaType: '' });
      // Judged by its media type, as the layout store does, not by the shape of its fields.
      const indexType = INDEX_TYPES.includes(doc.mediaType ?? '');
      if (indexType !== isIndexDoc(doc)) throw new Error('media type and shape disagree');
      return doc;
    } finally {
      await handle.close();
    }
  }

  /**
   * Commits the layers streamed to `where`; call only once every check of the import has passed.
   * All at once: a registry re-reads and re-hashes each blob at commit (distribution does unless the
   * whole blob came in that one request), work it spreads over its cores.
   */
  async commit(where: string): Promise<void> {
    await Promise.all((this.#byWhere.get(where) ?? []).map((upload) => upload.commit()));
  }

  /** Drops every session not committed. */
  async cancel(): Promise<void> {
    await Promise.all([...this.#byWhere.values()].flat().map((u) => u.cancel()));
  }
}
