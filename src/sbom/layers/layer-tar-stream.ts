// One layer blob read once, as a stream: decompressed by its media type (gzip and zstd through
// node:zlib, a plain tar as it is; OCI and Docker types alike) and parsed by tar's streaming Parser,
// each entry handed to the caller while the bytes flow. Nothing is written to disk. A layer whose bytes
// are not a well-formed compressed tar is E_INPUT_MALFORMED, naming the layer's digest.
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { Descriptor } from '../../oci/types.ts';

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** The compression a layer media type declares; undefined for a type that is not a layer tar. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  const oci = /^application\/vnd\.oci\.image\.layer(?:\.nondistributable)?\.v1\.tar(?:\+(gzip|zstd))?$/;
  const docker = /^application\/vnd\.docker\.image\.rootfs(?:\.foreign)?\.diff\.tar(?:\.(gzip|zstd))?$/;
  const m = oci.exec(mediaType) ?? docker.exec(mediaType);
  if (!m) return undefined;
  return m[1] === 'gzip' ? 'gzip' : m[1] === 'zstd' ? 'zstd' : 'none';
}

function decompressed(blob: Readable, compression: LayerCompression): Readable {
  if (compression === 'none') return blob;
  const inflate = compression === 'gzip' ? createGunzip() : createZstdDecompress();
  blob.on('error', (err) => inflate.destroy(err));
  return blob.pipe(inflate);
}

function malformed(layer: Descriptor, err: unknown): AirlockError {
  if (err instanceof AirlockError && err.code !== 'E_INPUT_MALFORMED') return err;
  const why = err instanceof Error ? err.message : String(err);
  return new AirlockError('E_INPUT_MALFORMED', `layer ${layer.digest} is not a readable tar: ${bounded(why)}`, {
    cause: err,
  });
}

/**
 * Streams the layer's tar entries to `onEntry`, which must consume (resume, pipe or read) each entry's
 * body: the parser waits for it, so memory stays at a chunk or two. Resolves when the tar has ended
 * and every entry has been handed over.
 */
export async function readLayerTar(
  layer: Descriptor,
  blob: Readable,
  onEntry: (entry: ReadEntry) => void,
  onBytes: (compressedBytes: number) => void = () => {},
): Promise<void> {
  const compression = layerCompression(layer.mediaType);
  if (compression === undefined) {
    blob.destroy();
    throw new AirlockError('E_INPUT_MALFORMED', `layer ${layer.digest} has media type ${bounded(layer.mediaType)}`);
  }
  blob.on('data', (chunk: Buffer) => onBytes(chunk.length));
  // An empty layer (only the end-of-archive zero blocks, as Docker writes for a no-op step) is valid,
  // though tar's Parser calls it unrecognised: so whether any byte but zero came before an entry is kept.
  let entries = 0;
  let nonZero = false;
  let failure: unknown;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      entries++;
      try {
        onEntry(entry);
      } catch (err) {
        // The parser called us from inside its own event handling: stop it rather than throw through it.
        failure ??= err;
        entry.resume();
        parser.abort(err instanceof Error ? err : new Error(String(err)));
      }
    },
  });
  parser.on('error', (err: unknown) => (failure ??= err));
  const ended = once(parser, 'end');
  ended.catch(() => {});
  try {
    for await (const chunk of decompressed(blob, compression)) {
      if (failure !== undefined) break;
      if (!nonZero && entries === 0) nonZero = (chunk as Buffer).some((b) => b !== 0);
      if (!parser.write(chunk as Buffer)) await Promise.race([once(parser, 'drain'), ended]);
    }
    if (failure === undefined) {
      parser.end();
      await ended;
    }
  } catch (err) {
    failure ??= err;
  } finally {
    blob.destroy();
  }
  const emptyLayer = entries === 0 && !nonZero && (failure as { code?: string })?.code === 'TAR_BAD_ARCHIVE';
  if (failure !== undefined && !emptyLayer) throw malformed(layer, failure);
}
