// The shapes every image store shares (OCI image spec v1.1, distribution spec v1.1), and the one
// interface each transport implements: an OCI layout folder, an oci-archive or docker-archive tar, a
// registry. Copy, sign and verify are written once against it.
import type { Readable } from 'node:stream';

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  /** `sha256:<hex>` */
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly platform?: Platform;
  readonly urls?: readonly string[];
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A manifest or index as stored: the exact bytes (digests are over them) and their media type. */
export interface StoredManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
}

/**
 * One image store. Reads are verified: getBlob/getManifest fail (E_DIGEST_MISMATCH) when the bytes do
 * not hash to the digest asked for. Writes are idempotent: a blob or manifest already present is not
 * written again. Tags are moved only by putManifest with a tag, and only after everything the manifest
 * references is present.
 */
export interface ImageStore {
  /** e.g. "oci:/srv/layout", "docker://127.0.0.1:5000/app". */
  readonly description: string;
  /** The manifest a tag (or, for single-image archives, the only image) points at. E_INPUT_MISSING if none. */
  resolveTag(tag: string | undefined): Promise<Descriptor>;
  getManifest(digest: string): Promise<StoredManifest>;
  hasManifest(digest: string): Promise<boolean>;
  /** The blob's bytes as a stream that errors at its end if they do not match `desc.digest`. */
  getBlob(desc: Descriptor): Promise<Readable>;
  hasBlob(desc: Descriptor): Promise<boolean>;
  putBlob(desc: Descriptor, data: Readable | Uint8Array): Promise<void>;
  /** Stores a manifest by digest and, when `tag` is given, points the tag at it. */
  putManifest(manifest: StoredManifest, tag?: string): Promise<void>;
  listTags(): Promise<string[]>;
  /**
   * Manifests whose `subject` is `digest`: the referrers API, or the `sha256-<hex>` tag fallback for
   * registries without it, or a scan of the store for layouts and archives.
   */
  listReferrers(digest: string): Promise<Descriptor[]>;
  /**
   * Records a referrer where the store keeps them (the fallback tag index on a registry without the API; the index for
   * layouts).
   */
  addReferrer(subject: Descriptor, referrer: Descriptor): Promise<void>;
  /** Flushes and releases (archives are written here). */
  close(): Promise<void>;
}
