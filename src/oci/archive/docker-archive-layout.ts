// Where things go inside a docker-archive airlock writes. The docker side follows `docker save`
// (`<hex>.json` config, one file per layer, manifest.json); `airlock/` is an OCI image layout of the
// original manifests, their tags and any referrers or signatures, which docker, podman and skopeo
// ignore (they read only what manifest.json names).
import { open } from 'node:fs/promises';
import { fromFsError } from '../../errors.ts';

export const AIRLOCK_DIR = 'airlock';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The names a layer of digest hex `hex` may have, by compression. */
export function layerFileNames(hex: string): string[] {
  return [`${hex}.tar`, `${hex}.tar.gz`, `${hex}.tar.zst`];
}

/**
 * A layer keeps its stored bytes (its digest must not change), so its name says how they are
 * compressed; docker load and skopeo detect compression from the bytes either way.
 */
export function layerFileName(hex: string, head: Uint8Array): string {
  const starts = (magic: number[]): boolean => magic.every((b, i) => head[i] === b);
  if (isGzip(head)) return `${hex}.tar.gz`;
  if (starts(ZSTD_MAGIC)) return `${hex}.tar.zst`;
  return `${hex}.tar`;
}

export function isGzip(head: Uint8Array): boolean {
  return GZIP_MAGIC.every((b, i) => head[i] === b);
}

/** The first `n` bytes of a file (fewer if it is shorter): enough for compression magic. */
export async function readHead(path: string, n: number): Promise<Buffer> {
  try {
    const handle = await open(path, 'r');
    try {
      const head = Buffer.alloc(n);
      const { bytesRead } = await handle.read(head, 0, n, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw fromFsError(err, path);
  }
}
