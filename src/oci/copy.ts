// `airlock copy`: an image (or index) from any store to any store, by digest, with its signatures,
// attestations and referrers — `skopeo copy` + `cosign save`/`cosign load` in one. First the plan: every
// manifest is read (once; the copy reuses it) and every blob to move is known, so progress can show
// totals from the start. Then blobs (each verified while it streams, skipped when the destination has
// it), manifests bottom-up, the things that point at the image, and the tag last: a tag never names
// something incomplete.
import { pipeline, Transform, type Readable } from 'node:stream';
import { AirlockError } from '../errors.ts';
import { formatPlatform, isIndexDoc, parseManifestJson, platformMatches } from './manifest.ts';
import type { Descriptor, ImageStore, Platform, StoredManifest } from './types.ts';

export interface CopyProgress {
  readonly blobsDone: number;
  readonly blobsTotal: number;
  /** Bytes of blobs moved or found present, counted while they stream. */
  readonly bytesDone: number;
  /** The size of every blob the copy covers, known before the first one moves. */
  readonly bytesTotal: number;
  /** Images (platform manifests) complete at the destination, of those the copy covers. */
  readonly imagesDone: number;
  readonly imagesTotal: number;
}

/** What happened to one blob: streamed, already at the destination, or placed by `linkBlob`. */
export type BlobOutcome = 'copied' | 'present' | 'linked';

export interface CopyOptions {
  /** Destination tag, written last. */
  readonly tag?: string;
  /** From an index, copy only this platform's manifest (the copy is then that manifest). */
  readonly platform?: Platform;
  /** Carry signatures (.sig), attestations (.att) and referrers along; default true. */
  readonly signatures?: boolean;
  /** Blobs in flight at once; default 4. */
  readonly concurrency?: number;
  readonly onProgress?: (p: CopyProgress) => void;
  /** Each blob once it is done (for --verbose). */
  readonly onBlob?: (desc: Descriptor, outcome: BlobOutcome) => void;
  /**
   * Tried before streaming a blob: may place it at the destination another way (a hardlink between
   * layouts) and return true. Whoever supplies it takes over verifying those bytes (pack verifies them
   * while writing the package).
   */
  readonly linkBlob?: (desc: Descriptor) => Promise<boolean>;
  /**
   * cosign's legacy `.sig`/`.att`/`.sbom` tags are pushed by digest but not tagged: they are returned in
   * `legacyTags` for the caller to move (import moves them with its other tags, after its intent is
   * recorded). Default: tagged during the copy.
   */
  readonly deferLegacyTags?: boolean;
}

export interface CopyResult {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly manifests: number;
  readonly images: number;
  readonly blobsCopied: number;
  readonly blobsSkipped: number;
  readonly bytesCopied: number;
  /** Bytes of every blob the copy covers (copied or already there). */
  readonly bytesTotal: number;
  readonly referrers: number;
  readonly signatureTags: readonly string[];
  /** With deferLegacyTags: each legacy tag and the manifest it should name, pushed by digest, not tagged. */
  readonly legacyTags: ReadonlyArray<{ readonly tag: string; readonly digest: string }>;
  /** Non-distributable layers (with `urls`): referenced, not copied; the destination lacks them. */
  readonly foreignLayers: readonly string[];
}

/** Tags cosign uses for legacy signatures, attestations and SBOMs of a digest. */
export const LEGACY_SUFFIXES = ['sig', 'att', 'sbom'] as const;
export function legacyTag(digest: string, suffix: (typeof LEGACY_SUFFIXES)[number]): string {
  return `${digest.replace(':', '-')}.${suffix}`;
}

class Pool {
  #active = 0;
  readonly #queue: Array<() => void> = [];
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#queue.shift()?.();
    }
  }
}

/** What points at one manifest: its referrers and its cosign legacy tags. */
interface Attached {
  readonly referrers: readonly Descriptor[];
  readonly legacy: ReadonlyArray<{ readonly tag: string; readonly digest: string }>;
}

/** Everything the copy will read, found before anything is written. */
class CopyPlan {
  readonly manifests = new Map<string, StoredManifest>();
  readonly attached = new Map<string, Attached>();
  readonly blobs = new Map<string, Descriptor>();
  readonly images = new Set<string>();
  readonly foreign = new Set<string>();
  readonly #walked = new Set<string>();
  readonly #src: ImageStore;
  readonly #signatures: boolean;
  #tags: Promise<Set<string>> | undefined;

  constructor(src: ImageStore, signatures: boolean) {
    this.#src = src;
    this.#signatures = signatures;
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.blobs.values()) n += b.size;
    return n;
  }

  /** The copy's root: the manifest `digest` names, or with `platform`, that platform's image in it. */
  async root(digest: string, platform: Platform | undefined): Promise<string> {
    if (!platform) return digest;
    const doc = parseManifestJson(await this.#read(digest));
    if (!isIndexDoc(doc)) return digest;
    const child = doc.manifests.find((m) => platformMatches(platform, m.platform));
    if (!child) {
      const have = doc.manifests.map((m) => formatPlatform(m.platform)).join(', ');
      throw new AirlockError('E_INPUT_MISSING', `the index has no ${formatPlatform(platform)} image (it has: ${have})`);
    }
    return this.root(child.digest, platform);
  }

  /** Reads `digest` and everything under and attached to it; `image`: platform manifests count as images. */
  async walk(digest: string, image: boolean): Promise<void> {
    if (this.#walked.has(digest)) return;
    this.#walked.add(digest);
    const doc = parseManifestJson(await this.#read(digest));
    if (isIndexDoc(doc)) {
      for (const child of doc.manifests) await this.walk(child.digest, image);
    } else {
      if (image) this.images.add(digest);
      for (const blob of [doc.config, ...doc.layers]) {
        if (blob.urls?.length) this.foreign.add(blob.digest);
        else this.blobs.set(blob.digest, blob);
      }
    }
    if (!this.#signatures) return;
    const referrers = await this.#src.listReferrers(digest);
    const tags = await this.#srcTags();
    const legacy: Array<{ tag: string; digest: string }> = [];
    for (const suffix of LEGACY_SUFFIXES) {
      const tag = legacyTag(digest, suffix);
      if (tags.has(tag)) legacy.push({ tag, digest: (await this.#src.resolveTag(tag)).digest });
    }
    this.attached.set(digest, { referrers, legacy });
    for (const r of referrers) await this.walk(r.digest, false);
    for (const l of legacy) await this.walk(l.digest, false);
  }

  async #read(digest: string): Promise<StoredManifest> {
    const stored = this.manifests.get(digest) ?? (await this.#src.getManifest(digest));
    this.manifests.set(digest, stored);
    return stored;
  }

  #srcTags(): Promise<Set<string>> {
    this.#tags ??= this.#src.listTags().then((t) => new Set(t));
    return this.#tags;
  }
}

/** `source` as it streams, counting its bytes; errors and early closes pass through both ways. */
function counted(source: Readable, onBytes: (n: number) => void): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  pipeline(source, counter, () => undefined); // the consumer of `counter` sees any error
  return counter;
}

class Copier {
  readonly stats = {
    manifests: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    bytesCopied: 0,
    referrers: 0,
    signatureTags: [] as string[],
    legacyTags: [] as Array<{ tag: string; digest: string }>,
  };
  readonly #done = new Set<string>();
  readonly #blobsDone = new Set<string>();
  readonly #pool: Pool;
  readonly #src: ImageStore;
  readonly #dst: ImageStore;
  readonly #options: CopyOptions;
  readonly #plan: CopyPlan;
  readonly #bytesTotal: number;
  #bytesDone = 0;
  #imagesDone = 0;

  constructor(src: ImageStore, dst: ImageStore, plan: CopyPlan, options: CopyOptions) {
    this.#src = src;
    this.#dst = dst;
    this.#plan = plan;
    this.#bytesTotal = plan.bytes;
    this.#options = options;
    this.#pool = new Pool(options.concurrency ?? 4);
  }

  progress(): void {
    this.#options.onProgress?.({
      blobsDone: this.stats.blobsCopied + this.stats.blobsSkipped,
      blobsTotal: this.#plan.blobs.size,
      bytesDone: this.#bytesDone,
      bytesTotal: this.#bytesTotal,
      imagesDone: this.#imagesDone,
      imagesTotal: this.#plan.images.size,
    });
  }

  #finished(desc: Descriptor, outcome: BlobOutcome, streamed: number): void {
    if (outcome === 'present') this.stats.blobsSkipped++;
    else {
      this.stats.blobsCopied++;
      this.stats.bytesCopied += desc.size;
    }
    this.#bytesDone += desc.size - streamed;
    this.#options.onBlob?.(desc, outcome);
    this.progress();
  }

  async blob(desc: Descriptor): Promise<void> {
    if (this.#blobsDone.has(desc.digest)) return;
    this.#blobsDone.add(desc.digest);
    await this.#pool.run(async () => {
      if (await this.#dst.hasBlob(desc)) return this.#finished(desc, 'present', 0);
      if (this.#options.linkBlob && (await this.#options.linkBlob(desc))) return this.#finished(desc, 'linked', 0);
      let streamed = 0;
      const source = await this.#src.getBlob(desc);
      const data = this.#options.onProgress
        ? counted(source, (n) => {
            // A source that sends more than it should fails its digest check; the total stays honest.
            const add = Math.min(n, desc.size - streamed);
            streamed += add;
            this.#bytesDone += add;
            this.progress();
          })
        : source;
      await this.#dst.putBlob(desc, data);
      this.#finished(desc, 'copied', streamed);
    });
  }

  /** Copies the manifest (or index) `digest` and everything it references; returns its stored form. */
  async tree(digest: string): Promise<StoredManifest> {
    const stored = this.#plan.manifests.get(digest) ?? (await this.#src.getManifest(digest));
    if (this.#done.has(digest)) return stored;
    const doc = parseManifestJson(stored);
    if (isIndexDoc(doc)) await Promise.all(doc.manifests.map((c) => this.tree(c.digest)));
    else await Promise.all([doc.config, ...doc.layers].filter((d) => !d.urls?.length).map((d) => this.blob(d)));
    if (!(await this.#dst.hasManifest(digest))) await this.#dst.putManifest(stored);
    this.#done.add(digest);
    this.stats.manifests++;
    if (this.#plan.images.has(digest)) {
      this.#imagesDone++;
      this.progress();
    }
    await this.attached(stored);
    return stored;
  }

  /** What points at `subject`: OCI referrers (bundles, SBOMs) and cosign's legacy tags. */
  async attached(subject: StoredManifest): Promise<void> {
    const attached = this.#plan.attached.get(subject.digest);
    if (!attached) return;
    const subjectDesc: Descriptor = {
      mediaType: subject.mediaType,
      digest: subject.digest,
      size: subject.bytes.length,
    };
    for (const ref of attached.referrers) {
      if (this.#done.has(ref.digest)) continue;
      await this.tree(ref.digest);
      await this.#dst.addReferrer(subjectDesc, ref);
      this.stats.referrers++;
    }
    for (const { tag, digest } of attached.legacy) {
      const stored = await this.tree(digest);
      if (this.#options.deferLegacyTags) this.stats.legacyTags.push({ tag, digest });
      else await this.#dst.putManifest(stored, tag);
      this.stats.signatureTags.push(tag);
    }
  }
}

export async function copyImage(
  src: ImageStore,
  source: Descriptor,
  dst: ImageStore,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const plan = new CopyPlan(src, options.signatures !== false);
  const rootDigest = await plan.root(source.digest, options.platform);
  await plan.walk(rootDigest, true);
  const copier = new Copier(src, dst, plan, options);
  copier.progress();
  const root = await copier.tree(rootDigest);
  if (options.tag) await dst.putManifest(root, options.tag);
  return {
    digest: root.digest,
    mediaType: root.mediaType,
    size: root.bytes.length,
    ...copier.stats,
    images: plan.images.size,
    bytesTotal: plan.bytes,
    foreignLayers: [...plan.foreign],
  };
}
