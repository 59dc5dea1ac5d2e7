// What `airlock scan --imported` rescans, kept at import so the rescan needs no network at all: once an
// image is published, its SBOM content goes into the state directory — the SBOM document the package
// carried for it (byte for byte, as it travelled and was checked), else a catalogue airlock makes from
// the image it just verified (SPDX 2.3, as `airlock sbom -o spdx-json`) — and an index names every
// imported image (destination reference → digest, import id, time, where its SBOM is kept).
//
//   $AIRLOCK_HOME/imports/sboms/<manifest-digest-hex>.json   the SBOM (atomic write)
//   $AIRLOCK_HOME/imports/sboms/index.json                   the index (atomic write, under a lock)
//
// Best effort by design: the import has already succeeded when this runs, so nothing here may fail it.
// A failure becomes a warning in the import's report, and the index still names the image with no SBOM
// (when the index itself can be written), so the rescan lists it as not evaluated instead of skipping
// it. A crash between the publish and these writes loses them (accepted: `import --recover` does not
// redo them); the rescan's cross-check with the audit trail — the `transfer.import.tags` intent written
// before the tags move, and `transfer.import` — then still names the image, as not evaluated.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { acquireLock } from '../files/lock-file.ts';
import { readJsonFile } from '../files/read-json.ts';
import { makeStateDir } from '../files/state-dir.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';
import { bounded } from '../text.ts';
import { VERSION } from '../version.ts';

export const IMPORTED_SBOMS_DIR = join('imports', 'sboms');
const INDEX_NAME = 'index.json';
const INDEX_FORMAT = 'airlock.dev/imported-images/v1';
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** One imported image as the index names it. */
export interface ImportedImage {
  /** Where the image was published (HOST/REPO[:TAG]). */
  readonly reference: string;
  readonly digest: string;
  /** The image's name in the package. */
  readonly name: string;
  readonly importId: string;
  readonly at: string;
  /** Where its SBOM is kept (a file name in IMPORTED_SBOMS_DIR) and where that came from; absent: none kept. */
  readonly sbom?: { readonly file: string; readonly from: 'carried' | 'generated' };
  /** Why no SBOM is kept. */
  readonly problem?: string;
}

/** An image just published, and what its SBOM can be kept from. */
export interface PublishedImage {
  readonly name: string;
  readonly reference: string;
  readonly digest: string;
  /** The SBOM document the package carried for it (a file in staging), if any. */
  readonly carried?: string;
}

export interface KeepSbomsInput {
  readonly stateDir: string;
  readonly importId: string;
  readonly now: Date;
  readonly images: readonly PublishedImage[];
  /** The import's staging layout: manifests and configs, and the layers it kept. */
  readonly layout?: ImageStore;
  /** Where a layer that streamed past staging is read back from: the image's destination. */
  readonly destination: (reference: string) => Promise<ImageStore>;
}

const message = (err: unknown) => bounded(err instanceof Error ? err.message : String(err), 500);

export function sbomFileName(digest: string): string {
  return `${digest.replace(/^sha256:/, '')}.json`;
}

const indexPath = (stateDir: string) => join(stateDir, IMPORTED_SBOMS_DIR, INDEX_NAME);

/** The index of imported images (empty when none was written yet). */
export async function readImportedIndex(stateDir: string): Promise<ImportedImage[]> {
  const path = indexPath(stateDir);
  const doc = await readJsonFile(path, 'the index of imported images', MAX_INDEX_BYTES).catch((err: unknown) => {
    if ((err as { code?: string }).code === 'E_INPUT_MISSING') return undefined;
    throw err;
  });
  if (doc === undefined) return [];
  const images = (doc as { images?: unknown }).images;
  return Array.isArray(images) ? images.map(indexEntry) : [];
}

/**
 * An index entry as read back: the fields a rescan relies on checked, and an SBOM file name that is not exactly what
 * sbomFileName makes dropped (so the entry is not evaluated, never read from elsewhere).
 */
function indexEntry(raw: unknown): ImportedImage {
  const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof ImportedImage, unknown>>;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const sbom = e.sbom as { file?: unknown; from?: unknown } | undefined;
  const file = text(sbom?.file);
  const kept = /^[0-9a-f]{64}\.json$/.test(file) && (sbom?.from === 'carried' || sbom?.from === 'generated');
  return {
    reference: text(e.reference) || '(unnamed)',
    digest: text(e.digest),
    name: text(e.name),
    importId: text(e.importId),
    at: text(e.at),
    ...(kept ? { sbom: { file, from: sbom.from as 'carried' | 'generated' } } : {}),
    ...(e.problem !== undefined || (!kept && sbom !== undefined)
      ? { problem: text(e.problem) || 'the index names no valid SBOM file' }
      : {}),
  };
}

/** The composite store a catalogue is read from: staging where it holds the blob, else the destination. */
function publishedStore(layout: ImageStore, destination: ImageStore): ImageStore {
  return {
    description: layout.description,
    resolveTag: (tag) => layout.resolveTag(tag),
    getManifest: async (digest) =>
      (await layout.hasManifest(digest)) ? layout.getManifest(digest) : destination.getManifest(digest),
    hasManifest: async (digest) => (await layout.hasManifest(digest)) || destination.hasManifest(digest),
    getBlob: async (desc: Descriptor) =>
      (await layout.hasBlob(desc)) ? layout.getBlob(desc) : destination.getBlob(desc),
    hasBlob: async (desc) => (await layout.hasBlob(desc)) || destination.hasBlob(desc),
    putBlob: () => Promise.reject(new Error('read only')),
    putManifest: () => Promise.reject(new Error('read only')),
    listTags: () => layout.listTags(),
    listReferrers: () => Promise.resolve([]),
    addReferrer: () => Promise.reject(new Error('read only')),
    close: () => Promise.resolve(),
  };
}

/** A UUID-shaped name unique to this import and image (the SPDX document namespace), no randomness needed. */
function documentUuid(importId: string, digest: string): string {
  const h = createHash('sha256').update(`${importId}\n${digest}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** airlock's own SBOM of the published image, read from the bytes the import verified. */
async function generatedSbom(image: PublishedImage, input: KeepSbomsInput): Promise<string> {
  if (!input.layout) throw new Error('no staging layout to read the image from');
  const [{ catalogueImage }, { ALL_CATALOGUERS }, { identifyPackages }, { formatCatalogue }] = await Promise.all([
    import('../sbom/catalogue-image.ts'),
    import('../sbom/cataloguers/index.ts'),
    import('../sbom/identify.ts'),
    import('../sbom/formats/index.ts'),
  ]);
  const store = publishedStore(input.layout, await input.destination(image.reference));
  const top = await store.getManifest(image.digest);
  const read = await catalogueImage(
    store,
    { mediaType: top.mediaType, digest: image.digest, size: top.bytes.length },
    ALL_CATALOGUERS,
  );
  const catalogue = {
    subject: { name: image.reference, digest: image.digest },
    ...(read.distro ? { distro: read.distro } : {}),
    packages: identifyPackages(read.found, read.distro),
    notes: read.notes,
  };
  return formatCatalogue(catalogue, 'spdx-json', {
    now: input.now,
    uuid: documentUuid(input.importId, image.digest),
    toolVersion: VERSION,
  });
}

/** Keeps one image's SBOM; returns its index entry (with the problem when none could be kept). */
async function keepOne(image: PublishedImage, input: KeepSbomsInput, dir: string): Promise<ImportedImage> {
  const base = {
    reference: image.reference,
    digest: image.digest,
    name: image.name,
    importId: input.importId,
    at: input.now.toISOString(),
  };
  const file = sbomFileName(image.digest);
  try {
    const from = image.carried ? 'carried' : 'generated';
    const content = image.carried ? await readFile(image.carried) : await generatedSbom(image, input);
    await writeFileAtomic(join(dir, file), content, { overwrite: true });
    return { ...base, sbom: { file, from } };
  } catch (err) {
    return { ...base, problem: message(err) };
  }
}

/** The index with `entries` added, replacing earlier entries for the same reference. */
export function mergeIndex(index: readonly ImportedImage[], entries: readonly ImportedImage[]): ImportedImage[] {
  const replaced = new Set(entries.map((e) => e.reference));
  return [...index.filter((e) => !replaced.has(e.reference)), ...entries];
}

/**
 * Keeps each published image's SBOM and names it in the index. Never throws: returns the warnings for the import's
 * report.
 */
export async function keepImportedSboms(input: KeepSbomsInput): Promise<string[]> {
  if (input.images.length === 0) return [];
  const warnings: string[] = [];
  try {
    const dir = await makeStateDir(input.stateDir, IMPORTED_SBOMS_DIR);
    const entries: ImportedImage[] = [];
    for (const image of input.images) entries.push(await keepOne(image, input, dir));
    for (const e of entries)
      if (e.problem)
        warnings.push(
          `${e.reference}: its SBOM could not be kept for rescans (${e.problem}); a rescan lists it as not evaluated`,
        );
    const lock = await acquireLock(join(dir, 'index.lock'), 'the index of imported images');
    try {
      const images = mergeIndex(await readImportedIndex(input.stateDir), entries);
      await writeFileAtomic(
        indexPath(input.stateDir),
        `${JSON.stringify({ format: INDEX_FORMAT, images }, null, 2)}\n`,
        {
          overwrite: true,
        },
      );
    } finally {
      await lock.release();
    }
  } catch (err) {
    warnings.push(
      `the imported images could not be recorded for rescans (${message(err)}); ` +
        'a rescan names them from the audit trail as not evaluated',
    );
  }
  return warnings;
}
