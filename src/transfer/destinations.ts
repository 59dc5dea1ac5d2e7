// Where each image of a package lands in the internal registry: HOST[/PREFIX]/REPOSITORY[:TAG]. The
// repository and tag are chosen on the connected side (`pack --name IMAGE=REPO[:TAG]`, recorded in the
// signed metadata as `destination`); packages from before that field keep the old rule (a registry
// image's own repository and tag; a layout's or archive's name). Two images landing on one repository
// and tag would leave the tag to whichever is pushed last, so such a package is refused up front.
import { basename } from 'node:path';
import { AirlockError } from '../errors.ts';
import type { OpenedImage, RegistryOptions } from '../oci/open-store.ts';
import type { RegistryStore } from '../oci/registry/store.ts';
import { parseImageReference } from '../oci/reference.ts';
import { bounded } from '../text.ts';
import { isContainersStorage, storageImageName } from './containers-storage.ts';
import type { ImageArtifact, TransferMetadata } from './format.ts';

export interface TargetRegistry {
  readonly host: string;
  readonly prefix?: string;
  readonly options: RegistryOptions;
}

/** Where one image lands: the full reference, and its parts for channel rules and tag ownership. */
export interface Landing {
  readonly reference: string;
  /** Repository path on the registry, prefix included, no host: `mirror/team/app`. */
  readonly repository: string;
  readonly tag?: string;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/**
 * Tags a registry's signatures live under: the referrers fallback index (`sha256-<hex>`) and cosign's
 * `sha256-<hex>.sig/.att/.sbom`. A package naming one as its destination would replace another
 * image's list of signatures, so no destination may look like one.
 */
const SIGNATURE_TAG = /^sha(256|384|512)-/i;
const REPO_PART = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** `REPO[:TAG]` as `pack --name` and the metadata's `destination` spell it, validated (OCI distribution names). */
export function parseDestinationName(text: string, what: string): { repository: string; tag?: string } {
  const colon = text.lastIndexOf(':');
  const hasTag = colon > 0 && !text.slice(colon + 1).includes('/');
  const repository = hasTag ? text.slice(0, colon) : text;
  const tag = hasTag ? text.slice(colon + 1) : undefined;
  if (!repository || repository.length > 255 || !repository.split('/').every((p) => REPO_PART.test(p))) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${what}: '${bounded(text, 120)}' is not a repository name (lowercase path parts: a-z 0-9 . _ -)`,
    );
  }
  if (tag !== undefined && !TAG.test(tag))
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: '${bounded(tag, 140)}' is not a valid tag`);
  if (tag !== undefined && SIGNATURE_TAG.test(tag))
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${what}: '${bounded(tag, 140)}' is a tag signatures are kept under (sha256-…), not an image's`,
    );
  return { repository, ...(tag ? { tag } : {}) };
}

/** The repository and tag a packed reference suggests when no name was chosen: what older packages did. */
export function suggestedName(name: string): { repository: string; tag?: string } {
  // podman's store names images as registries do (localhost/app:1): its repository and tag.
  const ref = parseImageReference(isContainersStorage(name) ? `docker://${storageImageName(name)}` : name);
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9._/-]/g, '-')
      .replace(/^[-._/]+|[-._/]+$/g, '') || 'image';
  if (ref.transport === 'docker') return { repository: ref.repository, ...(ref.tag ? { tag: ref.tag } : {}) };
  if (ref.transport === 'docker-archive' && ref.name?.includes(':')) {
    return {
      repository: clean(ref.name.slice(0, ref.name.lastIndexOf(':'))),
      tag: ref.name.slice(ref.name.lastIndexOf(':') + 1),
    };
  }
  const tag = 'tag' in ref ? ref.tag : undefined;
  return { repository: clean(basename(ref.path).replace(/\.(tar|oci)$/, '')), ...(tag ? { tag } : {}) };
}

export function landing(artifact: ImageArtifact, registry: TargetRegistry): Landing {
  const name =
    artifact.destination !== undefined
      ? parseDestinationName(artifact.destination, `the destination of ${bounded(artifact.name, 120)}`)
      : legacyDestination(artifact.name);
  const prefix = registry.prefix ? `${registry.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
  const repository = `${prefix}${name.repository}`;
  return {
    reference: `${registry.host}/${repository}${name.tag ? `:${name.tag}` : ''}`,
    repository,
    ...(name.tag ? { tag: name.tag } : {}),
  };
}

/** A package from before `destination`: the name its reference suggests, validated like a chosen one. */
function legacyDestination(name: string): { repository: string; tag?: string } {
  let suggested: { repository: string; tag?: string };
  try {
    suggested = suggestedName(name);
  } catch (err) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `the image ${bounded(name, 120)} names no place to land: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return parseDestinationName(
    `${suggested.repository}${suggested.tag ? `:${suggested.tag}` : ''}`,
    `where ${bounded(name, 120)} lands`,
  );
}

/** Where each image lands; E_DESTINATION_CONFLICT when two would share a repository and tag. */
export function landings(metadata: TransferMetadata, registry: TargetRegistry): Map<ImageArtifact, Landing> {
  const out = new Map<ImageArtifact, Landing>();
  const seen = new Map<string, string>();
  for (const artifact of metadata.artifacts) {
    if (artifact.kind !== 'image') continue;
    const where = landing(artifact, registry);
    const other = seen.get(where.reference);
    if (other !== undefined) {
      throw new AirlockError(
        'E_DESTINATION_CONFLICT',
        `${bounded(other, 120)} and ${bounded(artifact.name, 120)} would both land on ${bounded(where.reference, 200)}`,
        {
          hint: 'pack them under distinct names: pack --name IMAGE=REPO:TAG',
          details: { destination: where.reference, images: [other, artifact.name] },
        },
      );
    }
    seen.set(where.reference, artifact.name);
    out.set(artifact, where);
  }
  return out;
}

/** Each destination opened once, shared by the layer streams, the push and the tags, closed at the end. */
export class OpenDestinations {
  readonly #opened = new Map<string, Promise<OpenedImage>>();
  readonly #registry: TargetRegistry;

  constructor(registry: TargetRegistry) {
    this.#registry = registry;
  }

  open(where: string): Promise<OpenedImage> {
    let opened = this.#opened.get(where);
    if (!opened) {
      opened = import('../oci/open-store.ts').then(({ openImage }) =>
        openImage(where, 'write', this.#registry.options),
      );
      this.#opened.set(where, opened);
    }
    return opened;
  }

  async registryStore(where: string): Promise<RegistryStore> {
    const { store } = await this.open(where);
    if (!('openUpload' in store)) throw new AirlockError('E_INTERNAL', `${where} is not a registry repository`);
    return store as RegistryStore;
  }

  async close(): Promise<void> {
    for (const opened of this.#opened.values()) await (await opened.catch(() => undefined))?.store.close();
  }
}
