// Reading a `docker save` / `podman save` / skopeo docker-archive. Such archives carry no manifest, so
// one is synthesised per manifest.json entry: a Docker schema2 manifest whose config and layers are
// the archive's files exactly as stored. Archives airlock wrote also hold `airlock/` (an OCI layout of
// the original manifests, tags and referrers); then those are served, so digests survive the trip.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { digestBytes, digestFile, formatDigest, parseDigest } from '../../crypto/digest.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { fileSize, openVerifiedFile } from '../layout/blob-io.ts';
import { openLayoutStore, type LayoutStore, tagsHint } from '../layout/layout-store.ts';
import { DOCKER_CONFIG, DOCKER_LAYER_TAR_GZIP, DOCKER_MANIFEST } from '../media-types.ts';
import type { Descriptor, StoredManifest } from '../types.ts';
import { type ArchiveStore, readOnly, removeTempDir, unpackArchive } from './archive-files.ts';
import { checkDockerSide } from './docker-archive-check.ts';
import { AIRLOCK_DIR, isGzip, layerFileNames, readHead } from './docker-archive-layout.ts';
import {
  DOCKER_LAYER_TAR,
  DOCKER_MANIFEST_FILE,
  type DockerArchiveEntry,
  parseDockerManifestJson,
  sameDockerName,
} from './docker-manifest.ts';
import { type ExtractResult, resolveArchivePath } from './safe-extract.ts';

interface Synthesized {
  readonly entry: DockerArchiveEntry;
  readonly manifest: StoredManifest;
}

export class DockerArchiveReader implements ArchiveStore {
  readonly description: string;
  readonly #dir: string;
  readonly #contents: ExtractResult;
  readonly #entries: readonly DockerArchiveEntry[];
  readonly #airlock: LayoutStore | undefined;
  readonly #name: string | undefined;
  readonly #described = new Map<string, Promise<Descriptor>>();
  readonly #paths = new Map<string, string>();
  #synthesized: Promise<Synthesized[]> | undefined;
  #closed: Promise<void> | undefined;

  constructor(
    file: string,
    dir: string,
    contents: ExtractResult,
    entries: DockerArchiveEntry[],
    airlock: LayoutStore | undefined,
    name?: string,
  ) {
    this.description = `docker-archive:${file}`;
    this.#dir = dir;
    this.#contents = contents;
    this.#entries = entries;
    this.#airlock = airlock;
    this.#name = name;
  }

  #synthesize(): Promise<Synthesized[]> {
    this.#synthesized ??= (async () => {
      const out: Synthesized[] = [];
      for (const [i, entry] of this.#entries.entries()) {
        const config = await this.#describe(entry.Config, `manifest.json entry ${i} Config`, DOCKER_CONFIG);
        const layers: Descriptor[] = [];
        for (const layer of entry.Layers) layers.push(await this.#describe(layer, `manifest.json entry ${i} layer`));
        const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers }));
        const digest = formatDigest(digestBytes(bytes));
        out.push({ entry, manifest: { bytes, mediaType: DOCKER_MANIFEST, digest } });
      }
      return out;
    })();
    return this.#synthesized;
  }

  /** Hashes an archive file once; its digest is how the synthesised manifest names it. */
  #describe(raw: string, what: string, mediaType?: string): Promise<Descriptor> {
    const rel = resolveArchivePath(this.#contents, raw);
    if (rel === undefined) {
      return Promise.reject(
        new AirlockError('E_INPUT_MALFORMED', `${this.description}: ${what} '${raw}' is not a file in the archive`),
      );
    }
    let described = this.#described.get(rel);
    if (!described) {
      const path = join(this.#dir, rel);
      described = (async () => {
        const d = await digestFile(path);
        this.#paths.set(formatDigest(d), path);
        // Layers are served as stored: docker save writes plain tars, podman and airlock may gzip them.
        const type = mediaType ?? (isGzip(await readHead(path, 2)) ? DOCKER_LAYER_TAR_GZIP : DOCKER_LAYER_TAR);
        return { mediaType: type, digest: formatDigest(d), size: d.size };
      })();
      this.#described.set(rel, described);
    }
    return described;
  }

  async listTags(): Promise<string[]> {
    if (this.#airlock) return this.#airlock.listTags();
    return [...new Set(this.#entries.flatMap((e) => e.RepoTags))];
  }

  async resolveTag(tag: string | undefined): Promise<Descriptor> {
    const name = tag ?? this.#name;
    const tags = await this.listTags();
    if (this.#airlock) {
      if (name === undefined) return this.#airlock.resolveTag(undefined);
      const match = tags.find((t) => t === name) ?? tags.find((t) => sameDockerName(t, name));
      if (match === undefined)
        throw new AirlockError('E_INPUT_MISSING', `${this.description}: no image named '${name}'`, {
          hint: tagsHint(tags),
        });
      return this.#airlock.resolveTag(match);
    }
    const images = await this.#synthesize();
    const hits =
      name === undefined ? images : images.filter((s) => s.entry.RepoTags.some((t) => sameDockerName(t, name)));
    const hit = hits[0];
    if (hits.length === 1 && hit)
      return { mediaType: hit.manifest.mediaType, digest: hit.manifest.digest, size: hit.manifest.bytes.length };
    if (name !== undefined && hits.length === 0)
      throw new AirlockError('E_INPUT_MISSING', `${this.description}: no image named '${name}'`, {
        hint: tagsHint(tags),
      });
    if (hits.length === 0) throw new AirlockError('E_INPUT_MISSING', `${this.description}: holds no image`);
    throw new AirlockError(
      'E_INPUT_MISSING',
      `${this.description}: holds ${hits.length} images${name ? ` named '${name}'` : ''}; name one`,
      { hint: tagsHint(tags) },
    );
  }

  async getManifest(digest: string): Promise<StoredManifest> {
    if (this.#airlock && (await this.#airlock.hasManifest(digest))) return this.#airlock.getManifest(digest);
    const hit = (await this.#synthesize()).find((s) => s.manifest.digest === digest);
    if (!hit) throw new AirlockError('E_INPUT_MISSING', `${this.description}: no manifest ${digest}`);
    return hit.manifest;
  }

  async hasManifest(digest: string): Promise<boolean> {
    if (this.#airlock && (await this.#airlock.hasManifest(digest))) return true;
    return (await this.#synthesize()).some((s) => s.manifest.digest === digest);
  }

  /** Where a blob's bytes are: hashed files first, then the names airlock's writer gives them. */
  async #pathOf(digest: string): Promise<string | undefined> {
    const known = this.#paths.get(digest);
    if (known) return known;
    const { algorithm, hex } = parseDigest(digest);
    const names = [`${AIRLOCK_DIR}/blobs/${algorithm}/${hex}`, `${hex}.json`, ...layerFileNames(hex)];
    const rel = names.find((n) => this.#contents.files.has(n));
    if (rel) return join(this.#dir, rel);
    if (this.#airlock) return undefined;
    // A plain archive: hashing its files is the only way to know their digests.
    await this.#synthesize();
    return this.#paths.get(digest);
  }

  async getBlob(desc: Descriptor): Promise<Readable> {
    const path = await this.#pathOf(desc.digest);
    if (!path) throw new AirlockError('E_INPUT_MISSING', `${this.description}: blob ${desc.digest} is not present`);
    return openVerifiedFile(path, desc, this.description);
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    const path = await this.#pathOf(desc.digest);
    return path !== undefined && (await fileSize(path)) === desc.size;
  }

  async listReferrers(digest: string): Promise<Descriptor[]> {
    return this.#airlock ? this.#airlock.listReferrers(digest) : [];
  }

  async putBlob(): Promise<void> {
    readOnly(this.description);
  }

  async putManifest(): Promise<void> {
    readOnly(this.description);
  }

  async addReferrer(): Promise<void> {
    readOnly(this.description);
  }

  close(): Promise<void> {
    this.#closed ??= removeTempDir(this.#dir);
    return this.#closed;
  }

  discard(): Promise<void> {
    return this.close();
  }
}

export async function openDockerArchiveReader(
  file: string,
  options: { tempDir?: string; name?: string },
): Promise<DockerArchiveReader> {
  // skopeo and docker save link `<id>/layer.tar` to `../<hex>.tar`: links are recorded, never created.
  const { dir, contents } = await unpackArchive(file, options.tempDir, 'docker-archive', 'record');
  try {
    const manifestPath = resolveArchivePath(contents, DOCKER_MANIFEST_FILE);
    if (!manifestPath)
      throw new AirlockError('E_INPUT_MALFORMED', `${file} is not a docker-archive: it has no manifest.json`);
    const text = await readFile(join(dir, manifestPath), 'utf8').catch((err: unknown) => {
      throw fromFsError(err, `${file}:manifest.json`);
    });
    const entries = parseDockerManifestJson(text, file);
    const airlock = contents.files.has(`${AIRLOCK_DIR}/index.json`)
      ? await openLayoutStore(join(dir, AIRLOCK_DIR), { description: `docker-archive:${file}` })
      : undefined;
    if (airlock) await checkDockerSide(file, dir, contents, entries, airlock);
    return new DockerArchiveReader(file, dir, contents, entries, airlock, options.name);
  } catch (err) {
    await removeTempDir(dir);
    throw err;
  }
}
