// Which package files skip staging: only layers the staged image manifests name, found without ever
// reading outside the layout's blobs, and never a file the metadata names as a file artifact.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { OCI_MANIFEST } from '../oci/media-types.ts';
import type { ImageArtifact } from './format.ts';
import { LayerStreams } from './import-layers.ts';

const hex = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const layer = Buffer.from('layer bytes');
const dir = useTempDir('airlock-layers-');

async function stage(doc: object): Promise<string> {
  const bytes = JSON.stringify(doc);
  await writeFile(join(dir, 'oci', 'blobs', 'sha256', hex(bytes)), bytes);
  return `sha256:${hex(bytes)}`;
}
const artifact = (digest: string): ImageArtifact => ({
  kind: 'image',
  name: 'app',
  digest,
  layoutTag: 't',
  signedBy: [],
});
const streams = (digest: string, keep: string[] = []) =>
  new LayerStreams({
    layoutDir: join(dir, 'oci'),
    layoutPath: 'oci',
    images: [{ artifact: artifact(digest) }],
    keep: new Set(keep),
  });
const manifest = (extra: object = {}) => ({
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${hex('{}')}`, size: 2 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex(layer)}`, size: layer.length }],
  ...extra,
});
const layerPath = `oci/blobs/sha256/${hex(layer)}`;

before(async () => {
  await mkdir(join(dir, 'oci', 'blobs', 'sha256'), { recursive: true });
});

describe('LayerStreams.divert', () => {
  it('takes a layer its staged image manifest names (inspect: hashed only), nothing else', async () => {
    const s = streams(await stage(manifest()));
    assert.ok(await s.divert(layerPath, layer.length, hex(layer)));
    assert.equal(
      await s.divert(layerPath, layer.length + 1, hex(layer)),
      undefined,
      'size differs from the descriptor',
    );
    assert.equal(await s.divert(`oci/blobs/sha256/${hex('other')}`, 5, hex('other')), undefined, 'not a layer');
    assert.equal(await s.divert(layerPath, layer.length, hex('other')), undefined, 'listed hash is not its name');
  });

  it('keeps a file artifact in staging even when it is named like a layer', async () => {
    const s = streams(await stage(manifest({ annotations: { n: 'keep' } })), [layerPath]);
    assert.equal(await s.divert(layerPath, layer.length, hex(layer)), undefined);
  });

  // Attack: a manifest typed as an image but shaped as an index, its children naming paths outside
  // the layout; the walk must not follow them (a FIFO there would hang the import).
  it('never reads outside the layout: a manifest whose shape and media type disagree diverts nothing', async () => {
    const outside = join(dir, 'outside.json');
    await writeFile(outside, JSON.stringify(manifest()));
    const s = streams(
      await stage(
        manifest({ manifests: [{ mediaType: OCI_MANIFEST, digest: `sha256:../../../outside.json`, size: 1 }] }),
      ),
    );
    assert.equal(await s.divert(layerPath, layer.length, hex(layer)), undefined);
  });
});
