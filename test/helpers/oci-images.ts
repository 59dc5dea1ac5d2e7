// Small but real images for store and copy tests: gzip-compressed tar layers (a random file inside,
// made with the tar package), an OCI config whose diff_ids are the uncompressed layer digests, an OCI
// manifest, and multi-platform indexes over such images. Every test makes its own.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { create as createTar } from 'tar';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from '../../src/oci/media-types.ts';
import type { Descriptor, ImageStore, Platform, StoredManifest } from '../../src/oci/types.ts';
import { withTempDir } from './temp-dir.ts';

export interface TestImageOptions {
  readonly tag?: string;
  readonly layers?: number;
  readonly layerSize?: number;
  readonly platform?: { os: string; architecture: string };
}

export interface TestImage {
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: Descriptor[];
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function jsonManifest(doc: object, mediaType: string): StoredManifest {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, mediaType, digest: sha256(bytes) };
}

/** A tar holding one file of random bytes; fixed mtime and portable headers, like a built layer. */
export async function makeLayerTar(size: number, name = 'payload.bin'): Promise<Buffer> {
  return withTempDir('airlock-layer-', async (dir) => {
    await writeFile(join(dir, name), randomBytes(size));
    const chunks: Buffer[] = [];
    for await (const chunk of createTar({ cwd: dir, portable: true, mtime: new Date(0) }, [name]))
      chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  });
}

export async function makeTestImage(store: ImageStore, options: TestImageOptions = {}): Promise<TestImage> {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < (options.layers ?? 2); i++) {
    const tar = await makeLayerTar(options.layerSize ?? 2048, `file-${i}.bin`);
    const gz = gzipSync(tar);
    const desc: Descriptor = { mediaType: OCI_LAYER_TAR_GZIP, digest: sha256(gz), size: gz.length };
    await store.putBlob(desc, gz);
    layers.push(desc);
    diffIds.push(sha256(tar));
  }
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      rootfs: { type: 'layers', diff_ids: diffIds },
      config: {},
    }),
  );
  const config: Descriptor = { mediaType: OCI_CONFIG, digest: sha256(configBytes), size: configBytes.length };
  await store.putBlob(config, configBytes);
  const stored = jsonManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }, OCI_MANIFEST);
  await store.putManifest(stored, options.tag);
  return { manifest: { mediaType: OCI_MANIFEST, digest: stored.digest, size: stored.bytes.length }, config, layers };
}

export interface TestIndex {
  readonly index: Descriptor;
  readonly images: TestImage[];
}

export async function makeTestIndex(
  store: ImageStore,
  platforms: readonly Platform[],
  tag?: string,
): Promise<TestIndex> {
  const images: TestImage[] = [];
  for (const platform of platforms) images.push(await makeTestImage(store, { platform, layers: 1 }));
  const manifests = images.map((img, i) => ({ ...img.manifest, platform: platforms[i] }));
  const stored = jsonManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, OCI_INDEX);
  await store.putManifest(stored, tag);
  return { index: { mediaType: OCI_INDEX, digest: stored.digest, size: stored.bytes.length }, images };
}

/** A cosign-style v3 referrer: an artifact manifest with an empty `{}` config and one small layer. */
export async function makeTestReferrer(
  store: ImageStore,
  subject: Descriptor,
  artifactType = 'application/vnd.dev.sigstore.bundle.v0.3+json',
): Promise<Descriptor> {
  const empty = Buffer.from('{}');
  const config: Descriptor = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 };
  const payload = Buffer.from(JSON.stringify({ test: randomBytes(8).toString('hex') }));
  const layer: Descriptor = { mediaType: artifactType, digest: sha256(payload), size: payload.length };
  await store.putBlob(config, empty);
  await store.putBlob(layer, payload);
  const stored = jsonManifest(
    { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config, layers: [layer], subject },
    OCI_MANIFEST,
  );
  await store.putManifest(stored);
  return { mediaType: OCI_MANIFEST, digest: stored.digest, size: stored.bytes.length, artifactType };
}

/** skopeo for interop checks (Debian's 1.9.3 on the dev image); tests skip, saying so, without it. */
export const SKOPEO = '/usr/bin/skopeo';

export function skopeoMissing(): string | false {
  return existsSync(SKOPEO) ? false : `${SKOPEO} is absent: skopeo interop checks skipped`;
}

/**
 * Runs skopeo on local transports only. --insecure-policy: the test machine need not have
 * /etc/containers/policy.json, and signature policy is not what these checks are about.
 */
export async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(SKOPEO, ['--insecure-policy', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}
