// The fixed files of an OCI image layout (image-spec v1.1 image-layout.md): `oci-layout` carrying
// `{"imageLayoutVersion":"1.0.0"}`, `index.json` (an image index whose descriptors are the layout's
// entry points), and `blobs/<alg>/<hex>`. Tags are the `org.opencontainers.image.ref.name` annotation
// on index.json descriptors (annotations.md), which is where skopeo and cosign put them.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '../../crypto/digest.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { readJsonFile } from '../../files/read-json.ts';
import { writeFileAtomic } from '../../files/atomic-write.ts';
import { OCI_INDEX } from '../media-types.ts';
import type { Descriptor, ImageIndex } from '../types.ts';
import { parseDescriptor } from './manifest-json.ts';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BLOBS_DIR = 'blobs';
export const LAYOUT_VERSION = '1.0.0';
export const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * `blobs/<alg>/<hex>` for a digest. The digest is parsed first: it comes from manifests and index
 * files we do not control, and an unchecked one could name a path outside the layout.
 */
export function blobPath(dir: string, digest: string): string {
  const d = parseDigest(digest);
  return join(dir, BLOBS_DIR, d.algorithm, d.hex);
}

/** Checks `oci-layout`; a layout of another version could mean files we would misread. */
export async function checkLayoutMarker(dir: string): Promise<void> {
  const path = join(dir, OCI_LAYOUT_FILE);
  let marker: unknown;
  try {
    marker = await readJsonFile(path, 'oci-layout');
  } catch (err) {
    if (err instanceof AirlockError && err.code === 'E_INPUT_MISSING') {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${dir} is not an OCI image layout: it has no ${OCI_LAYOUT_FILE} file`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  const version = (marker as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (version !== LAYOUT_VERSION) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${path}: imageLayoutVersion is ${JSON.stringify(version)}, expected "${LAYOUT_VERSION}"`,
    );
  }
}

export async function readIndexFile(dir: string): Promise<ImageIndex> {
  const path = join(dir, INDEX_FILE);
  const raw = await readJsonFile(path, 'index.json');
  const obj = raw as { schemaVersion?: unknown; manifests?: unknown } | null;
  if (typeof obj !== 'object' || obj === null || obj.schemaVersion !== 2 || !Array.isArray(obj.manifests)) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${path}: not an OCI image index (schemaVersion 2 with a manifests array)`,
    );
  }
  const manifests = obj.manifests.map((d: unknown, i: number) => parseDescriptor(d, `${path} manifests[${i}]`));
  return { ...(obj as ImageIndex), manifests };
}

/** Rewrites index.json atomically (temp + rename), so a reader never sees half of it. */
export async function writeIndexFile(dir: string, manifests: readonly Descriptor[], base?: ImageIndex): Promise<void> {
  const index: ImageIndex = { ...base, schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  await writeFileAtomic(join(dir, INDEX_FILE), JSON.stringify(index), { overwrite: true });
}

/** Makes `dir` a layout unless it is one already; refuses a non-empty folder that is not a layout. */
export async function initLayout(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw fromFsError(err, dir, 'create');
  });
  const entries = await readdir(dir).catch((err: unknown) => {
    throw fromFsError(err, dir);
  });
  if (entries.includes(OCI_LAYOUT_FILE)) return checkLayoutMarker(dir);
  if (entries.length > 0) {
    throw new AirlockError('E_OUTPUT_EXISTS', `${dir} is not empty and is not an OCI image layout`, {
      hint: 'write the image to a new or empty folder',
    });
  }
  await mkdir(join(dir, BLOBS_DIR), { recursive: true });
  await writeFileAtomic(join(dir, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
  await writeIndexFile(dir, []);
}
