// Parsing of manifests and descriptors read from disk. Only what the stores rely on is checked
// (digests that become file paths, sizes that bound reads, the manifest/index shape); the stored
// bytes stay untouched because digests are over them.
import { isDigestString } from '../../crypto/digest.ts';
import { AirlockError } from '../../errors.ts';
import { INDEX_TYPES, isIndex, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST } from '../media-types.ts';
import type { Descriptor } from '../types.ts';

/** Registries refuse manifests over 4 MiB (distribution spec, "Pushing Manifests"); so do we. */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

export interface ParsedManifest {
  readonly mediaType: string;
  readonly index: boolean;
  readonly artifactType?: string;
  readonly config?: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

function malformed(where: string, why: string): never {
  throw new AirlockError('E_INPUT_MALFORMED', `${where}: ${why}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) malformed(where, 'descriptor is not an object');
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string') malformed(where, 'descriptor has no mediaType');
  if (typeof digest !== 'string' || !isDigestString(digest))
    malformed(where, `descriptor digest ${JSON.stringify(digest)} is not a sha256:/sha512: digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    malformed(where, 'descriptor size is not a non-negative integer');
  return value as unknown as Descriptor;
}

/**
 * Parses manifest or index bytes. The media type is the document's own `mediaType` field, else the
 * one its descriptor gave (`hint`), else inferred from its shape (OCI allows omitting the field).
 */
export function parseManifestBytes(bytes: Uint8Array, where: string, hint?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    malformed(where, 'manifest is not valid JSON');
  }
  if (!isRecord(doc) || doc.schemaVersion !== 2) malformed(where, 'not a schemaVersion 2 manifest or index');
  const inferred = Array.isArray(doc.manifests) ? OCI_INDEX : isRecord(doc.config) ? OCI_MANIFEST : undefined;
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : (hint ?? inferred);
  if (!mediaType || ![...MANIFEST_TYPES, ...INDEX_TYPES].includes(mediaType)) {
    malformed(where, `unsupported manifest media type ${JSON.stringify(mediaType)}`);
  }
  const index = isIndex(mediaType);
  const list = (key: string): Descriptor[] => {
    const v = doc[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) malformed(where, `${key} is not an array`);
    return v.map((d, i) => parseDescriptor(d, `${where} ${key}[${i}]`));
  };
  const manifests = index ? list('manifests') : [];
  if (index && !Array.isArray(doc.manifests)) malformed(where, 'index has no manifests array');
  const config = index ? undefined : parseDescriptor(doc.config, `${where} config`);
  const layers = index ? [] : list('layers');
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, `${where} subject`);
  return {
    mediaType,
    index,
    ...(typeof doc.artifactType === 'string' ? { artifactType: doc.artifactType } : {}),
    ...(config ? { config } : {}),
    layers,
    manifests,
    ...(subject ? { subject } : {}),
    ...(isRecord(doc.annotations) ? { annotations: doc.annotations as Record<string, string> } : {}),
  };
}

/** The descriptor the referrers API would list for a manifest (distribution spec, "Listing Referrers"). */
export function referrerDescriptor(parsed: ParsedManifest, digest: string, size: number): Descriptor {
  const artifactType = parsed.artifactType ?? parsed.config?.mediaType;
  return {
    mediaType: parsed.mediaType,
    digest,
    size,
    ...(artifactType ? { artifactType } : {}),
    ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
  };
}
