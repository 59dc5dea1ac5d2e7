// One place that turns an image reference into a store of the right transport, and resolves the
// reference to a manifest digest once: everything after that works by digest.
import { AirlockError } from '../errors.ts';
import { type ImageReference, parseImageReference } from './reference.ts';
import type { Descriptor, ImageStore } from './types.ts';

export interface RegistryOptions {
  readonly insecure?: boolean;
  readonly caPem?: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly authFiles?: readonly string[];
}

export interface OpenedImage {
  readonly ref: ImageReference;
  readonly store: ImageStore;
  /** The tag the reference names (docker-archive: the RepoTag), if any. */
  readonly tag: string | undefined;
}

/** Opens the store a reference (text, or parsed already so a command can refuse a bad one first) names. */
export async function openImage(
  reference: string | ImageReference,
  mode: 'read' | 'write',
  registry: RegistryOptions = {},
  overwrite = false,
): Promise<OpenedImage> {
  const ref = typeof reference === 'string' ? parseImageReference(reference) : reference;
  // Each transport's code is loaded only when used: a CLI run pays start-up for what it touches.
  switch (ref.transport) {
    case 'oci': {
      const { openLayoutStore } = await import('./layout/layout-store.ts');
      return { ref, tag: ref.tag, store: await openLayoutStore(ref.path, { create: mode === 'write' }) };
    }
    case 'oci-archive': {
      const { openOciArchive } = await import('./archive/oci-archive.ts');
      return { ref, tag: ref.tag, store: await openOciArchive(ref.path, { mode, overwrite }) };
    }
    case 'docker-archive': {
      const { openDockerArchive } = await import('./archive/docker-archive.ts');
      return {
        ref,
        tag: ref.name,
        store: await openDockerArchive(ref.path, { mode, overwrite, ...(ref.name ? { name: ref.name } : {}) }),
      };
    }
    case 'docker': {
      const { openRegistryStore } = await import('./registry/store.ts');
      return {
        ref,
        tag: ref.tag ?? (ref.digest ? undefined : 'latest'),
        store: await openRegistryStore(
          { registry: ref.registry, repository: ref.repository },
          { ...registry, authFiles: [...(registry.authFiles ?? [])] },
        ),
      };
    }
  }
}

/**
 * The manifest the reference names, by digest when it has one, else by tag — and in both cases read
 * and checked to hash to that digest, so what is verified or signed is what the store really holds.
 */
export async function resolveImage(image: OpenedImage): Promise<Descriptor> {
  const digest =
    ('digest' in image.ref ? image.ref.digest : undefined) ?? (await image.store.resolveTag(image.tag)).digest;
  const stored = await image.store.getManifest(digest);
  return { mediaType: stored.mediaType, digest: stored.digest, size: stored.bytes.length };
}

/** Runs fn with the store, then closes it; on failure an archive being written is discarded, not written. */
export async function withStore<T>(
  store: ImageStore & { discard?: () => Promise<void> },
  fn: () => Promise<T>,
): Promise<T> {
  let ok = false;
  try {
    const result = await fn();
    ok = true;
    return result;
  } finally {
    if (!ok && store.discard) await store.discard();
    else await store.close();
  }
}

export function requireTagOrDigest(image: OpenedImage): void {
  if (image.ref.transport === 'oci' && !image.tag && !image.ref.digest) {
    throw new AirlockError('E_USAGE', `${image.store.description}: name the image with :TAG or @sha256:…`);
  }
}
