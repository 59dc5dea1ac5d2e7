// The referrers tag schema (distribution spec v1.1, "Referrers Tag Schema"), for registries without the
// referrers API: the manifests whose `subject` is digest D are listed in an OCI index tagged `<alg>-<hex>`.
// Written exactly as go-containerregistry (and so cosign) writes it (design note cosign-formats §3.4):
// each entry is {mediaType, size, digest, artifactType}, no annotations, de-duplicated and sorted by digest.
import { isDigestString, parseDigest } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import { OCI_INDEX } from '../media-types.ts';
import type { Descriptor, ImageIndex } from '../types.ts';

/** `sha256:<hex>` → `sha256-<hex>`; the spec caps the hex part at 64 characters so sha512 fits a tag. */
export function referrersTag(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex.slice(0, 64)}`;
}

function malformed(source: string, why: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${source}: ${why}`);
}

function parseDescriptor(value: unknown, source: string, index: number): Descriptor {
  const d = value as Partial<Record<keyof Descriptor, unknown>> | null;
  if (typeof d !== 'object' || d === null) throw malformed(source, `manifests[${index}] is not an object`);
  if (typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !isDigestString(d.digest)) {
    throw malformed(source, `manifests[${index}] lacks a mediaType or a valid digest`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    throw malformed(source, `manifests[${index}] has no valid size`);
  return d as unknown as Descriptor;
}

/**
 * Parses a referrers list: a referrers API response or a fallback tag's index. `contentType` is the
 * response's, used when the body does not name its own media type. Entries are kept as they came.
 */
export function parseReferrersIndex(bytes: Uint8Array, contentType: string | undefined, source: string): ImageIndex {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw malformed(source, 'not JSON');
  }
  const index = json as Partial<Record<keyof ImageIndex, unknown>> | null;
  if (typeof index !== 'object' || index === null || Array.isArray(index)) throw malformed(source, 'not a JSON object');
  if (index.schemaVersion !== 2) throw malformed(source, 'not an image index: schemaVersion is not 2');
  const mediaType = typeof index.mediaType === 'string' ? index.mediaType : contentType;
  if (mediaType !== OCI_INDEX) throw malformed(source, `not an OCI image index (media type ${mediaType ?? 'absent'})`);
  if (!Array.isArray(index.manifests)) throw malformed(source, 'not an image index: no manifests array');
  index.manifests.forEach((m, i) => parseDescriptor(m, source, i));
  return index as unknown as ImageIndex;
}

/** The descriptor ggcr appends for a referrer: annotations and platform are not copied. */
export function referrerEntry(referrer: Descriptor): Descriptor {
  return {
    mediaType: referrer.mediaType,
    size: referrer.size,
    digest: referrer.digest,
    ...(referrer.artifactType ? { artifactType: referrer.artifactType } : {}),
  };
}

/** `index` (or a new one) with `referrer` added; undefined when it is already listed (nothing to write). */
export function withReferrer(index: ImageIndex | undefined, referrer: Descriptor): ImageIndex | undefined {
  const existing = index?.manifests ?? [];
  if (existing.some((d) => d.digest === referrer.digest)) return undefined;
  const manifests = [...existing, referrerEntry(referrer)].sort((a, b) =>
    a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0,
  );
  return { ...(index ?? { schemaVersion: 2 }), schemaVersion: 2, mediaType: OCI_INDEX, manifests };
}

/** Compact JSON, as Go's encoder writes it. */
export function serializeIndex(index: ImageIndex): Buffer {
  return Buffer.from(JSON.stringify(index));
}
