// An image's packages, read the way a running container would see its files: the manifest (an index
// resolves to linux/amd64, or to its only image), then every layer blob once, as a stream, from the top
// layer down, so the squashed view (layers/squash.ts) knows what a lower layer's file is hidden by
// before its bytes arrive. Only visible regular files reach the cataloguers; the distro comes from the
// visible /etc/os-release, else /usr/lib/os-release. Memory holds the set of paths, never contents.
import type { Readable } from 'node:stream';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { formatPlatform, isIndexDoc, parseManifestJson } from '../oci/manifest.ts';
import type { Descriptor, ImageManifest, ImageStore } from '../oci/types.ts';
import type { CandidateFile, FileCataloguer } from './cataloguers/cataloguer.ts';
import { readCapped } from './cataloguers/read-capped.ts';
import { readLayerTar } from './layers/layer-tar-stream.ts';
import { LayerOffers } from './layers/offer.ts';
import { parseOsRelease } from './os-release.ts';
import type { Distro, FoundPackage } from './package.ts';

export interface LayerProgress {
  /** 1-based position in reading order: 1 is the top (last) layer, read first. */
  readonly layer: number;
  readonly layers: number;
  /** Compressed bytes read so far, over all layers. */
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface CatalogueImageOptions {
  onProgress?(progress: LayerProgress): void;
}

export interface ImageCatalogue {
  readonly distro?: Distro;
  readonly found: FoundPackage[];
  readonly notes: string[];
  /** What could not be read (offer.ts): not evaluated, and the scan's gate fails on each. */
  readonly unread: string[];
  /** The image manifest read (the platform's, when an index was given). */
  readonly manifest: Descriptor;
  /** Visible regular files some cataloguer read, and paths the squashed view kept. */
  readonly stats: { readonly filesOffered: number; readonly pathsKept: number; readonly bytesRead: number };
}

const OS_RELEASE = ['/etc/os-release', '/usr/lib/os-release'];
const MAX_OS_RELEASE = 64 * 1024;
const WANTED_PLATFORM = { os: 'linux', architecture: 'amd64' };

/** The image manifest `desc` names: itself, or an index's linux/amd64 (or only) manifest. */
export async function imageManifest(
  store: ImageStore,
  desc: Descriptor,
  notes: string[],
): Promise<{ descriptor: Descriptor; manifest: ImageManifest }> {
  const doc = parseManifestJson(await store.getManifest(desc.digest));
  if (!isIndexDoc(doc)) return { descriptor: desc, manifest: doc };
  const images = doc.manifests.filter((m) => m.platform?.os !== 'unknown');
  const chosen =
    images.length === 1
      ? images[0]
      : images.find(
          (m) => m.platform?.os === WANTED_PLATFORM.os && m.platform.architecture === WANTED_PLATFORM.architecture,
        );
  if (chosen === undefined) {
    const platforms = images.map((m) => formatPlatform(m.platform)).join(', ') || 'none';
    throw new AirlockError('E_INPUT_MISSING', `index ${desc.digest} has no linux/amd64 image (it has ${platforms})`);
  }
  if (images.length > 1)
    notes.push(`index ${desc.digest}: catalogued ${formatPlatform(chosen.platform)} ${chosen.digest}`);
  const inner = parseManifestJson(await store.getManifest(chosen.digest));
  if (isIndexDoc(inner)) throw new AirlockError('E_INPUT_MALFORMED', `index ${desc.digest} points at another index`);
  return { descriptor: chosen, manifest: inner };
}

/** A cataloguer of the distro files only: the texts are kept by path, parsed once every layer is read. */
function osReleaseReader(texts: Map<string, string>): FileCataloguer {
  return {
    name: 'os-release',
    wants: (file: CandidateFile) => OS_RELEASE.includes(file.path) && file.size <= MAX_OS_RELEASE,
    async read(file: CandidateFile, content: Readable) {
      const bytes = await readCapped(content, MAX_OS_RELEASE);
      if (bytes) texts.set(file.path, bytes.toString('utf8'));
      return { packages: [] };
    },
  };
}

function byLocation(a: FoundPackage, b: FoundPackage): number {
  const key = (p: FoundPackage) => [p.foundIn, p.type, p.name, p.version, p.arch ?? ''].join('\0');
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export async function catalogueImage(
  store: ImageStore,
  manifest: Descriptor,
  cataloguers: readonly FileCataloguer[],
  options: CatalogueImageOptions = {},
): Promise<ImageCatalogue> {
  const notes: string[] = [];
  const image = await imageManifest(store, manifest, notes);
  const texts = new Map<string, string>();
  const offers = new LayerOffers([osReleaseReader(texts), ...cataloguers]);
  const layers = [...image.manifest.layers].reverse();
  const totalBytes = layers.reduce((n, l) => n + l.size, 0);
  let bytes = 0;
  for (const [i, layer] of layers.entries()) {
    const report = () => options.onProgress?.({ layer: i + 1, layers: layers.length, bytes, totalBytes });
    report();
    offers.beginLayer(layer.digest);
    const blob = await store.getBlob(layer);
    await readLayerTar(
      layer,
      blob,
      (entry) => offers.onEntry(entry),
      (n) => ((bytes += n), report()),
    );
    await offers.endLayer();
  }
  const osRelease = OS_RELEASE.map((p) => texts.get(p)).find((t) => t !== undefined);
  if (osRelease === undefined) notes.push('no /etc/os-release or /usr/lib/os-release: the distro is not known');
  const osLink = offers.links.get('/etc/os-release');
  const unread = [...offers.unread];
  // /etc/os-release a link elsewhere than /usr/lib/os-release, which is absent: the distro is not read.
  if (osLink !== undefined && !texts.has('/usr/lib/os-release'))
    unread.push(`symbolic link /etc/os-release → ${bounded(osLink)}: the distro it names is not read`);
  return {
    ...(osRelease !== undefined ? { distro: parseOsRelease(osRelease) } : {}),
    found: offers.found.sort(byLocation),
    notes: [...notes, ...offers.notes],
    unread,
    manifest: image.descriptor,
    stats: { filesOffered: offers.offered, pathsKept: offers.pathsKept, bytesRead: bytes },
  };
}
