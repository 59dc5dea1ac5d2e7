// The `oci-archive:FILE` store: a tar of an OCI image layout, what `skopeo copy ... oci-archive:FILE`
// writes. Reading unpacks it (path-checked, no links) into a private temp folder served as a layout;
// writing stages a layout in a temp folder and tars it atomically onto FILE at close().
import type { Readable } from 'node:stream';
import { AirlockError } from '../../errors.ts';
import { checkLayoutMarker, initLayout, readIndexFile } from '../layout/layout-files.ts';
import { LayoutStore } from '../layout/layout-store.ts';
import type { Descriptor, StoredManifest } from '../types.ts';
import {
  type ArchiveOptions,
  type ArchiveStore,
  assertWritable,
  listTree,
  makeTempDir,
  readOnly,
  removeTempDir,
  unpackArchive,
  writeTarAtomic,
} from './archive-files.ts';

export type { ArchiveOptions, ArchiveStore } from './archive-files.ts';

class OciArchiveStore extends LayoutStore implements ArchiveStore {
  readonly #file: string;
  readonly #write: boolean;
  readonly #overwrite: boolean | undefined;
  #closed: Promise<void> | undefined;

  constructor(dir: string, file: string, options: ArchiveOptions) {
    super(dir, `oci-archive:${file}`);
    this.#file = file;
    this.#write = options.mode === 'write';
    this.#overwrite = options.overwrite;
  }

  override async putBlob(desc: Descriptor, data: Readable | Uint8Array): Promise<void> {
    if (!this.#write) readOnly(this.description);
    return super.putBlob(desc, data);
  }

  override async putManifest(manifest: StoredManifest, tag?: string): Promise<void> {
    if (!this.#write) readOnly(this.description);
    return super.putManifest(manifest, tag);
  }

  override async addReferrer(subject: Descriptor, referrer: Descriptor): Promise<void> {
    if (!this.#write) readOnly(this.description);
    return super.addReferrer(subject, referrer);
  }

  override close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        await super.close();
        if (this.#write) await writeTarAtomic(this.#file, this.dir, await listTree(this.dir), this.#overwrite);
      } finally {
        await removeTempDir(this.dir);
      }
    })();
    return this.#closed;
  }

  discard(): Promise<void> {
    this.#closed ??= super.close().finally(() => removeTempDir(this.dir));
    return this.#closed;
  }
}

export async function openOciArchive(file: string, options: ArchiveOptions): Promise<ArchiveStore> {
  if (options.mode === 'write') {
    await assertWritable(file, options.overwrite); // fail before copying gigabytes, not after
    const dir = await makeTempDir(options.tempDir, 'oci-archive');
    try {
      await initLayout(dir);
    } catch (err) {
      await removeTempDir(dir);
      throw err;
    }
    return new OciArchiveStore(dir, file, options);
  }
  const { dir } = await unpackArchive(file, options.tempDir, 'oci-archive', 'reject');
  try {
    await checkLayoutMarker(dir);
    await readIndexFile(dir);
  } catch (err) {
    await removeTempDir(dir);
    if (err instanceof AirlockError) {
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${file} is not an oci-archive (a tar of an OCI image layout): ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
  return new OciArchiveStore(dir, file, options);
}
