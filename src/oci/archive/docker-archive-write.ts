// Writing a docker-archive that `docker load`, `podman load` and skopeo accept, and that airlock reads
// back with the original digests. Everything is staged as an OCI layout in `<temp>/airlock/`; close()
// then moves each container image's config and layers to the archive root under docker save names,
// writes manifest.json, and tars the lot (airlock/ included) atomically onto FILE.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import { fileSize, readVerifiedFile } from '../layout/blob-io.ts';
import { blobPath, initLayout, readIndexFile, REF_NAME, writeIndexFile } from '../layout/layout-files.ts';
import { LayoutStore } from '../layout/layout-store.ts';
import { MAX_MANIFEST_SIZE, parseManifestBytes, type ParsedManifest } from '../layout/manifest-json.ts';
import { DOCKER_CONFIG, OCI_CONFIG } from '../media-types.ts';
import type { Descriptor, StoredManifest } from '../types.ts';
import {
  type ArchiveOptions,
  type ArchiveStore,
  assertWritable,
  listTree,
  makeTempDir,
  removeTempDir,
  writeTarAtomic,
} from './archive-files.ts';
import { AIRLOCK_DIR, layerFileName, readHead } from './docker-archive-layout.ts';
import { DOCKER_MANIFEST_FILE, type DockerArchiveEntry, isDockerNameTag } from './docker-manifest.ts';

const TAR_LAYER =
  /^application\/vnd\.(oci\.image\.layer\.(nondistributable\.)?v1\.tar|docker\.image\.rootfs\.(foreign\.)?diff\.tar)/;

/** What docker load can take: an image manifest with an image config and tar layers (not a cosign .sig image). */
function isContainerImage(m: ParsedManifest): boolean {
  return (
    !m.index &&
    !m.subject &&
    [OCI_CONFIG, DOCKER_CONFIG].includes(m.config?.mediaType ?? '') &&
    m.layers.every((l) => TAR_LAYER.test(l.mediaType))
  );
}

export interface DockerWriteOptions extends ArchiveOptions {
  /** `repo:tag` for the RepoTags of an image put without a tag. */
  readonly name?: string;
}

export class DockerArchiveWriter extends LayoutStore implements ArchiveStore {
  readonly #root: string;
  readonly #file: string;
  readonly #options: DockerWriteOptions;
  /** Manifests put without a tag, in order: the image of an untagged copy is among them. */
  readonly #untagged = new Set<string>();
  #closed: Promise<void> | undefined;

  constructor(root: string, file: string, options: DockerWriteOptions) {
    super(join(root, AIRLOCK_DIR), `docker-archive:${file}`);
    this.#root = root;
    this.#file = file;
    this.#options = options;
  }

  override async putManifest(manifest: StoredManifest, tag?: string): Promise<void> {
    const parsed = parseManifestBytes(manifest.bytes, `manifest ${manifest.digest}`, manifest.mediaType);
    if (parsed.index && !parsed.subject) {
      throw new AirlockError(
        'E_UNSUPPORTED',
        `${this.description}: a docker-archive holds single-platform images; ${manifest.digest} ` +
          `is a multi-platform index`,
        {
          hint: 'pick one platform with --platform os/arch, or write oci-archive:FILE to keep the index',
        },
      );
    }
    if (tag !== undefined && isContainerImage(parsed) && !isDockerNameTag(tag)) {
      throw new AirlockError('E_USAGE', `${this.description}: '${tag}' is not a NAME:TAG docker load could use`, {
        hint: 'name the image like docker-archive:FILE:registry.example/app:1.0',
      });
    }
    await super.putManifest(manifest, tag);
    if (tag === undefined) this.#untagged.add(manifest.digest);
  }

  /** The manifest.json entries: tagged container images, then untagged ones (named by options.name). */
  async #dockerImages(): Promise<Array<{ digest: string; parsed: ParsedManifest; tags: string[] }>> {
    const index = await readIndexFile(this.dir);
    const tags = new Map<string, string[]>();
    for (const d of index.manifests) {
      const tag = d.annotations?.[REF_NAME];
      if (tag !== undefined) tags.set(d.digest, [...(tags.get(d.digest) ?? []), tag]);
    }
    const images = [];
    for (const digest of new Set([...tags.keys(), ...this.#untagged])) {
      const bytes = await readVerifiedFile(blobPath(this.dir, digest), digest, this.description, MAX_MANIFEST_SIZE);
      const parsed = parseManifestBytes(bytes, `${this.description}: manifest ${digest}`);
      if (!isContainerImage(parsed)) continue;
      const named = (tags.get(digest) ?? []).filter(isDockerNameTag);
      if (named.length === 0 && this.#options.name) named.push(this.#options.name);
      images.push({ digest, parsed, tags: named });
      await this.#recordRoot(
        { mediaType: parsed.mediaType, digest, size: bytes.length },
        named,
        tags.get(digest) ?? [],
      );
    }
    return images;
  }

  /**
   * airlock/index.json must name every image manifest.json names, so a reader serving airlock/ finds
   * the same images: RepoTags become tags, an image without any stays as an untagged entry.
   */
  async #recordRoot(desc: Descriptor, repoTags: readonly string[], tags: readonly string[]): Promise<void> {
    const stored = await this.getManifest(desc.digest);
    for (const tag of repoTags) if (!tags.includes(tag)) await super.putManifest(stored, tag);
    if (repoTags.length > 0 || tags.length > 0) return;
    const index = await readIndexFile(this.dir);
    if (!index.manifests.some((d) => d.digest === desc.digest))
      await writeIndexFile(this.dir, [...index.manifests, desc], index);
  }

  /** Moves a blob from airlock/blobs to the archive root under `name`; a shared blob moves once. */
  async #moveOut(
    desc: Descriptor,
    moved: Map<string, string>,
    name: (hex: string, head: Uint8Array) => string,
  ): Promise<string> {
    const done = moved.get(desc.digest);
    if (done) return done;
    const from = blobPath(this.dir, desc.digest);
    if ((await fileSize(from)) !== desc.size) {
      throw new AirlockError(
        'E_INPUT_MISSING',
        `${this.description}: blob ${desc.digest} of an image was never stored`,
      );
    }
    const target = name(parseDigest(desc.digest).hex, await readHead(from, 4));
    await rename(from, join(this.#root, target));
    moved.set(desc.digest, target);
    return target;
  }

  async #writeArchive(): Promise<void> {
    await super.close();
    const images = await this.#dockerImages();
    if (images.length === 0) {
      throw new AirlockError('E_INPUT_MISSING', `${this.description}: nothing to write, no container image was stored`);
    }
    const entries: DockerArchiveEntry[] = [];
    const moved = new Map<string, string>();
    for (const image of images) {
      const config = image.parsed.config as Descriptor;
      const configName = await this.#moveOut(config, moved, (hex) => `${hex}.json`);
      const layers: string[] = [];
      for (const layer of image.parsed.layers) layers.push(await this.#moveOut(layer, moved, layerFileName));
      entries.push({ Config: configName, RepoTags: image.tags, Layers: layers });
    }
    await writeFile(join(this.#root, DOCKER_MANIFEST_FILE), JSON.stringify(entries));
    const rootFiles = [...new Set(moved.values())].sort();
    const order = [DOCKER_MANIFEST_FILE, ...rootFiles, `${AIRLOCK_DIR}/`, ...(await listTree(this.#root, AIRLOCK_DIR))];
    await writeTarAtomic(this.#file, this.#root, order, this.#options.overwrite);
  }

  override close(): Promise<void> {
    this.#closed ??= this.#writeArchive().finally(() => removeTempDir(this.#root));
    return this.#closed;
  }

  discard(): Promise<void> {
    this.#closed ??= super.close().finally(() => removeTempDir(this.#root));
    return this.#closed;
  }
}

export async function openDockerArchiveWriter(file: string, options: DockerWriteOptions): Promise<DockerArchiveWriter> {
  if (options.name !== undefined && !isDockerNameTag(options.name)) {
    throw new AirlockError('E_USAGE', `docker-archive:${file}: '${options.name}' is not NAME:TAG`, {
      hint: 'e.g. docker-archive:FILE:registry.example/app:1.0',
    });
  }
  await assertWritable(file, options.overwrite); // fail before copying gigabytes, not after
  const root = await makeTempDir(options.tempDir, 'docker-archive');
  try {
    await initLayout(join(root, AIRLOCK_DIR));
  } catch (err) {
    await removeTempDir(root);
    throw err;
  }
  return new DockerArchiveWriter(root, file, options);
}
