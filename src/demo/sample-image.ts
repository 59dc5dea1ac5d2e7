// A small, real OCI image for `airlock demo` (one gzip layer holding a text file), clearly a sample:
// it stands in for what a CI pipeline builds.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { storedJson } from '../oci/manifest.ts';
import { OCI_CONFIG, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from '../oci/media-types.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';

function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  new Header({
    path: name,
    mode: 0o644,
    size: content.length,
    mtime: new Date(0),
    type: 'File',
    uid: 0,
    gid: 0,
  }).encode(header);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function writeSampleImage(store: ImageStore, tag: string, text: string): Promise<Descriptor> {
  const tar = tarOf('app/README.txt', Buffer.from(text));
  const layer = gzipSync(tar);
  const layerDesc = { mediaType: OCI_LAYER_TAR_GZIP, digest: sha256(layer), size: layer.length };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Labels: { 'org.opencontainers.image.description': 'airlock demo sample' } },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }),
  );
  const configDesc = { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length };
  await store.putBlob(layerDesc, layer);
  await store.putBlob(configDesc, config);
  const manifest = storedJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: [layerDesc] });
  await store.putManifest(manifest, tag);
  return { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.bytes.length };
}
