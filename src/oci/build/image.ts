// An image from built layers: the OCI config (runtime settings, labels, the layers' diff_ids), the
// manifest, and the tag, written to any image store. The config's `created` and each history entry
// take one given time, so the same layers and settings give the same manifest digest.
import { createReadStream } from 'node:fs';
import { sha256Digest, storedJson } from '../manifest.ts';
import { OCI_CONFIG, OCI_MANIFEST } from '../media-types.ts';
import type { Descriptor, ImageStore } from '../types.ts';
import type { BuiltLayer } from './layer-tar.ts';

export interface ImageSettings {
  /** e.g. "65532:65532". */
  readonly user: string;
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  /** `NAME=value` strings. */
  readonly env: readonly string[];
  readonly workingDir: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly created: Date;
  readonly architecture: string;
  readonly os: string;
}

export interface ImageLayer extends BuiltLayer {
  /** The history entry's created_by: what made the layer. */
  readonly createdBy: string;
}

/** The OCI image config (image-spec config.md) for these layers and settings. */
export function imageConfig(layers: readonly ImageLayer[], s: ImageSettings): object {
  const created = isoSeconds(s.created);
  return {
    created,
    architecture: s.architecture,
    os: s.os,
    config: {
      User: s.user,
      Env: [...s.env],
      Entrypoint: [...s.entrypoint],
      ...(s.cmd ? { Cmd: [...s.cmd] } : {}),
      WorkingDir: s.workingDir,
      Labels: { ...s.labels },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created, created_by: l.createdBy })),
  };
}

/** Writes the layers, the config and the manifest to `store` and points `tag` at the manifest. */
export async function putImage(
  store: ImageStore,
  layers: readonly ImageLayer[],
  settings: ImageSettings,
  tag: string,
): Promise<Descriptor> {
  for (const layer of layers) await store.putBlob(layer.descriptor, createReadStream(layer.file));
  const config = Buffer.from(JSON.stringify(imageConfig(layers, settings)));
  const configDesc: Descriptor = { mediaType: OCI_CONFIG, digest: sha256Digest(config), size: config.length };
  await store.putBlob(configDesc, config);
  const manifest = storedJson({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers: layers.map((l) => l.descriptor),
    annotations: { ...settings.labels, 'org.opencontainers.image.created': isoSeconds(settings.created) },
  });
  await store.putManifest(manifest, tag);
  return { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.bytes.length };
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}
