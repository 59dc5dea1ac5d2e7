// A small, real OCI image for `airlock demo` (one gzip layer holding a text file and sample package
// metadata), clearly a sample: it stands in for what a CI pipeline builds.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { storedJson } from '../oci/manifest.ts';
import { OCI_CONFIG, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from '../oci/media-types.ts';
import type { Descriptor, ImageStore } from '../oci/types.ts';

function tarEntry(name: string, content: Buffer): Buffer {
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
  return Buffer.concat([header, content, padding]);
}

function tarOf(files: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat([...files.map(([name, text]) => tarEntry(name, Buffer.from(text))), Buffer.alloc(1024)]);
}

/**
 * What the sample's packages look like to a cataloguer: the files a Debian image, an npm install and a
 * pip install leave (a distro, two dpkg packages with their source packages, one npm and one Python
 * package). Sample metadata only — no programs — so `airlock sbom` and `airlock scan` have something
 * real to read and match.
 */
const SAMPLE_PACKAGE_FILES: ReadonlyArray<readonly [string, string]> = [
  [
    'etc/os-release',
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n' +
      'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
  ],
  [
    'var/lib/dpkg/status',
    'Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n' +
      'Version: 3.0.11-1~deb12u2\nDescription: sample entry (airlock demo)\n\n' +
      'Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\n' +
      'Version: 1:1.2.13.dfsg-1\nDescription: sample entry (airlock demo)\n',
  ],
  ['app/node_modules/ms/package.json', '{"name":"ms","version":"2.1.2","license":"MIT"}\n'],
  [
    'usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA',
    'Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nLicense: Apache 2.0\n',
  ],
];

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function writeSampleImage(store: ImageStore, tag: string, text: string): Promise<Descriptor> {
  const tar = tarOf([['app/README.txt', text], ...SAMPLE_PACKAGE_FILES]);
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
