// `airlock copy`: an image (or index) from any store to any store, by digest, with its signatures,
// attestations and referrers — `skopeo copy` + `cosign save`/`cosign load` in one. Blobs first (each
// verified while it streams, skipped when the destination has it), then manifests bottom-up, then the
// things that point at the image, and the tag last: a tag never names something incomplete.
import { AirlockError } from '../errors.ts';
import { formatPlatform, isIndexDoc, parseManifestJson, platformMatches } from './manifest.ts';
import type { Descriptor, ImageStore, Platform, StoredManifest } from './types.ts';

export interface CopyProgress {
  readonly blobsDone: number;
  readonly blobsTotal: number;
  readonly bytesDone: number;
}

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
  /**
   * Tried before streaming a blob: may place it at the destination another way (a hardlink between
   * layouts) and return true. Whoever supplies it takes over verifying those bytes (pack verifies them
   * while writing the package).
   */
  readonly linkBlob?: (desc: Descriptor) => Promise<boolean>;
}

export interface CopyResult {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly manifests: number;
  readonly blobsCopied: number;
  readonly blobsSkipped: number;
  readonly bytesCopied: number;
  readonly referrers: number;
  readonly signatureTags: readonly string[];
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

class Copier {
  readonly stats = { manifests: 0, blobsCopied: 0, blobsSkipped: 0, bytesCopied: 0, referrers: 0, signatureTags: [] as string[] };
  readonly #done = new Set<string>();
  readonly #blobsSeen = new Set<string>();
  readonly #pool: Pool;
  readonly #src: ImageStore;
  readonly #dst: ImageStore;
  readonly #options: CopyOptions;
  #blobsTotal = 0;

  constructor(src: ImageStore, dst: ImageStore, options: CopyOptions) {
    this.#src = src;
    this.#dst = dst;
    this.#options = options;
    this.#pool = new Pool(options.concurrency ?? 4);
  }

  #progress(): void {
    this.#options.onProgress?.({ blobsDone: this.stats.blobsCopied + this.stats.blobsSkipped, blobsTotal: this.#blobsTotal, bytesDone: this.stats.bytesCopied });
  }

  async blob(desc: Descriptor): Promise<void> {
    if (this.#blobsSeen.has(desc.digest)) return;
    this.#blobsSeen.add(desc.digest);
    this.#blobsTotal++;
    await this.#pool.run(async () => {
      if (await this.#dst.hasBlob(desc)) {
        this.stats.blobsSkipped++;
      } else if (this.#options.linkBlob && (await this.#options.linkBlob(desc))) {
        this.stats.blobsCopied++;
        this.stats.bytesCopied += desc.size;
      } else {
        await this.#dst.putBlob(desc, await this.#src.getBlob(desc));
        this.stats.blobsCopied++;
        this.stats.bytesCopied += desc.size;
      }
      this.#progress();
    });
  }

  /** Copies the manifest (or index) `digest` and everything it references; returns its stored form. */
  async tree(digest: string, platform?: Platform): Promise<StoredManifest> {
    const stored = await this.#src.getManifest(digest);
    if (this.#done.has(digest)) return stored;
    const doc = parseManifestJson(stored);
    if (isIndexDoc(doc)) {
      const children = platform ? doc.manifests.filter((m) => platformMatches(platform, m.platform)) : doc.manifests;
      if (platform && children.length === 0) {
        const have = doc.manifests.map((m) => formatPlatform(m.platform)).join(', ');
        throw new AirlockError('E_INPUT_MISSING', `the index has no ${formatPlatform(platform)} image (it has: ${have})`);
      }
      if (platform) return this.tree(children[0]!.digest);
      await Promise.all(children.map((c) => this.tree(c.digest)));
    } else {
      await Promise.all([doc.config, ...doc.layers].filter((d) => !d.urls?.length).map((d) => this.blob(d)));
    }
    if (!(await this.#dst.hasManifest(digest))) await this.#dst.putManifest(stored);
    this.#done.add(digest);
    this.stats.manifests++;
    if (this.#options.signatures !== false) await this.attached(stored);
    return stored;
  }

  /** What points at `subject`: OCI referrers (bundles, SBOMs) and cosign's legacy tags. */
  async attached(subject: StoredManifest): Promise<void> {
    const subjectDesc: Descriptor = { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length };
    for (const ref of await this.#src.listReferrers(subject.digest)) {
      if (this.#done.has(ref.digest)) continue;
      await this.tree(ref.digest);
      await this.#dst.addReferrer(subjectDesc, ref);
      this.stats.referrers++;
    }
    const tags = await this.#srcTags();
    for (const suffix of LEGACY_SUFFIXES) {
      const tag = legacyTag(subject.digest, suffix);
      if (!tags.has(tag)) continue;
      const desc = await this.#src.resolveTag(tag);
      const stored = await this.tree(desc.digest);
      await this.#dst.putManifest(stored, tag);
      this.stats.signatureTags.push(tag);
    }
  }

  #tags: Promise<Set<string>> | undefined;
  #srcTags(): Promise<Set<string>> {
    this.#tags ??= this.#src.listTags().then((t) => new Set(t));
    return this.#tags;
  }
}

export async function copyImage(src: ImageStore, source: Descriptor, dst: ImageStore, options: CopyOptions = {}): Promise<CopyResult> {
  const copier = new Copier(src, dst, options);
  const root = await copier.tree(source.digest, options.platform);
  if (options.tag) await dst.putManifest(root, options.tag);
  return { digest: root.digest, mediaType: root.mediaType, size: root.bytes.length, ...copier.stats };
}
