// An archive with airlock/ has two descriptions of its images: airlock/ (what airlock verifies) and
// manifest.json (what docker load uses). They must describe the same images, or a verified archive
// could load something else. Each manifest.json entry must name, under the same RepoTags, the config
// and layers of an image in airlock/, and its config file must hash to that config's digest; docker
// load then checks the layers against the config's diff_ids itself.
import { join } from 'node:path';
import { digestFile, parseDigest } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import { readIndexFile, REF_NAME } from '../layout/layout-files.ts';
import type { LayoutStore } from '../layout/layout-store.ts';
import { parseManifestBytes } from '../layout/manifest-json.ts';
import { layerFileNames } from './docker-archive-layout.ts';
import type { DockerArchiveEntry } from './docker-manifest.ts';
import { type ExtractResult, resolveArchivePath, safeArchivePath } from './safe-extract.ts';

interface AirlockImage {
  readonly config: string;
  readonly layers: readonly string[];
  readonly tags: readonly string[];
}

async function airlockImages(airlock: LayoutStore): Promise<AirlockImage[]> {
  const index = await readIndexFile(airlock.dir);
  const out: AirlockImage[] = [];
  for (const digest of new Set(index.manifests.map((d) => d.digest))) {
    const stored = await airlock.getManifest(digest);
    const parsed = parseManifestBytes(stored.bytes, `${airlock.description}: manifest ${digest}`);
    if (parsed.index || !parsed.config) continue;
    const tags = index.manifests.filter((d) => d.digest === digest).flatMap((d) => d.annotations?.[REF_NAME] ?? []);
    out.push({ config: parsed.config.digest, layers: parsed.layers.map((l) => l.digest), tags });
  }
  return out;
}

function matches(entry: DockerArchiveEntry, image: AirlockImage): boolean {
  const hex = (digest: string): string => parseDigest(digest).hex;
  return (
    safeArchivePath(entry.Config) === `${hex(image.config)}.json` &&
    entry.Layers.length === image.layers.length &&
    entry.Layers.every((name, i) => layerFileNames(hex(image.layers[i] ?? '')).includes(safeArchivePath(name) ?? '')) &&
    entry.RepoTags.every((t) => image.tags.includes(t))
  );
}

export async function checkDockerSide(
  file: string,
  dir: string,
  contents: ExtractResult,
  entries: readonly DockerArchiveEntry[],
  airlock: LayoutStore,
): Promise<void> {
  const images = await airlockImages(airlock);
  for (const [i, entry] of entries.entries()) {
    const image = images.find((img) => matches(entry, img));
    const configPath = resolveArchivePath(contents, entry.Config);
    if (!image || configPath === undefined) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${file}: manifest.json entry ${i} (${entry.RepoTags.join(', ') || 'untagged'}) does not ` +
          `match the images in airlock/`,
        {
          hint: 'the archive was altered after airlock wrote it; docker load would not load what airlock verifies',
        },
      );
    }
    await digestFile(join(dir, configPath), { expected: parseDigest(image.config) });
  }
}
