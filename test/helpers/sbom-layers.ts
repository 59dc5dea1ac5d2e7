// Hand-written image layers for the squashed-view tests: tar bytes made entry by entry with tar's own
// Header (so a test can write what the builder refuses: `..` paths, whiteouts, a path twice, links to
// anywhere), compressed as a media type says, and put with a config and manifest into a store.
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { Header } from 'tar';
import {
  DOCKER_LAYER_TAR_GZIP,
  OCI_CONFIG,
  OCI_LAYER_TAR,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
} from '../../src/oci/media-types.ts';
import type { Descriptor, ImageStore } from '../../src/oci/types.ts';
import { jsonManifest, sha256 } from './oci-images.ts';

export const OCI_LAYER_TAR_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export type TarItem =
  | { readonly file: string; readonly data?: string; readonly mode?: number }
  | { readonly dir: string }
  | { readonly symlink: string; readonly to: string }
  | { readonly link: string; readonly to: string };

function header(path: string, type: string, size: number, mode: number, linkpath?: string): Buffer {
  const block = Buffer.alloc(512);
  new Header({
    path,
    type: type as 'File',
    size,
    mode,
    uid: 0,
    gid: 0,
    mtime: new Date(0),
    ...(linkpath !== undefined ? { linkpath } : {}),
  }).encode(block, 0);
  return block;
}

export function tarOf(items: readonly TarItem[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    if ('file' in item) {
      const body = Buffer.from(item.data ?? '');
      parts.push(header(item.file, 'File', body.length, item.mode ?? 0o644), body);
      parts.push(Buffer.alloc((512 - (body.length % 512)) % 512));
    } else if ('dir' in item) parts.push(header(item.dir, 'Directory', 0, 0o755));
    else if ('symlink' in item) parts.push(header(item.symlink, 'SymbolicLink', 0, 0o777, item.to));
    else parts.push(header(item.link, 'Link', 0, 0o644, item.to));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function compressed(tar: Buffer, mediaType: string): Buffer {
  if (mediaType === OCI_LAYER_TAR_ZSTD) return zstdCompressSync(tar);
  if (mediaType === OCI_LAYER_TAR_GZIP || mediaType === DOCKER_LAYER_TAR_GZIP) return gzipSync(tar);
  return tar;
}

/** An image of these layers (bottom first), each a tar of items or raw bytes, in `store`. */
export async function putLayeredImage(
  store: ImageStore,
  layers: ReadonlyArray<readonly TarItem[] | { readonly raw: Buffer; readonly mediaType: string }>,
  mediaType = OCI_LAYER_TAR_GZIP,
  tag?: string,
): Promise<{ manifest: Descriptor; layers: Descriptor[] }> {
  const descs: Descriptor[] = [];
  for (const layer of layers) {
    const [bytes, type] =
      'raw' in layer ? [layer.raw, layer.mediaType] : [compressed(tarOf(layer), mediaType), mediaType];
    const desc: Descriptor = { mediaType: type, digest: sha256(bytes), size: bytes.length };
    await store.putBlob(desc, bytes);
    descs.push(desc);
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }));
  const configDesc: Descriptor = { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length };
  await store.putBlob(configDesc, config);
  const stored = jsonManifest(
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: descs },
    OCI_MANIFEST,
  );
  await store.putManifest(stored, tag);
  return { manifest: { mediaType: OCI_MANIFEST, digest: stored.digest, size: stored.bytes.length }, layers: descs };
}

export { OCI_LAYER_TAR };
