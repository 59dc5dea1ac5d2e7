// Parsing manifests and indexes from their stored bytes (never re-serialised: digests are over the
// bytes), choosing platforms, and building the small manifests airlock writes itself.
import { createHash } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import { ALL_MANIFEST_TYPES, INDEX_TYPES, isIndex, OCI_INDEX, OCI_MANIFEST } from './media-types.ts';
import type { Descriptor, ImageIndex, ImageManifest, Platform, StoredManifest } from './types.ts';

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return (
    typeof x?.mediaType === 'string' &&
    typeof x.digest === 'string' &&
    /^sha(256|512):[0-9a-f]+$/.test(x.digest) &&
    Number.isSafeInteger(x.size) &&
    x.size >= 0
  );
}

export function parseManifestJson(stored: StoredManifest): ImageManifest | ImageIndex {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(stored.bytes.toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `manifest ${stored.digest} is not JSON`, { cause: err });
  }
  const mediaType = (doc.mediaType as string | undefined) ?? stored.mediaType;
  if (doc.schemaVersion !== 2 || !ALL_MANIFEST_TYPES.includes(mediaType)) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `manifest ${stored.digest} has unsupported media type ${mediaType} (schemaVersion ${doc.schemaVersion})`,
    );
  }
  if (isIndex(mediaType)) {
    if (!Array.isArray(doc.manifests) || !doc.manifests.every(isDescriptor)) {
      throw new AirlockError('E_INPUT_MALFORMED', `index ${stored.digest} has malformed manifest descriptors`);
    }
  } else if (!isDescriptor(doc.config) || !Array.isArray(doc.layers) || !doc.layers.every(isDescriptor)) {
    throw new AirlockError('E_INPUT_MALFORMED', `manifest ${stored.digest} has malformed config or layer descriptors`);
  }
  if (doc.subject !== undefined && !isDescriptor(doc.subject))
    throw new AirlockError('E_INPUT_MALFORMED', `manifest ${stored.digest} has a malformed subject`);
  return doc as unknown as ImageManifest | ImageIndex;
}

export function isIndexDoc(doc: ImageManifest | ImageIndex): doc is ImageIndex {
  return Array.isArray((doc as ImageIndex).manifests);
}

export function mediaTypeOf(stored: StoredManifest): string {
  const declared = (JSON.parse(stored.bytes.toString('utf8')) as { mediaType?: string }).mediaType;
  return declared ?? stored.mediaType;
}

export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) throw new AirlockError('E_USAGE', `--platform takes os/arch[/variant], got '${text}'`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  return (
    have !== undefined &&
    have.os === want.os &&
    have.architecture === want.architecture &&
    (!want.variant || want.variant === have.variant)
  );
}

export function formatPlatform(p: Platform | undefined): string {
  return p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : 'unknown';
}

/** Serialises a manifest airlock creates (artifact manifests, signature images). */
export function storedJson(doc: object, mediaType: string = OCI_MANIFEST): StoredManifest {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, mediaType, digest: sha256Digest(bytes) };
}

export function descriptorOf(stored: StoredManifest, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: stored.mediaType, digest: stored.digest, size: stored.bytes.length, ...extra };
}

export const INDEX_MEDIA_TYPES = INDEX_TYPES;
export { OCI_INDEX };
