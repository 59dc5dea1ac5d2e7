// podman's and buildah's local image store (`containers-storage:IMAGE`, as skopeo spells it). airlock
// does not read that store's layout itself: where skopeo is installed, pack has skopeo export the image
// into an OCI layout of its own staging and packs from there; where it is not, pack says how to export.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { runProgram } from '../tools/external.ts';

export const CONTAINERS_STORAGE = 'containers-storage:';

export function isContainersStorage(ref: string): boolean {
  return ref.startsWith(CONTAINERS_STORAGE);
}

/** The image name inside a containers-storage reference, without skopeo's `[driver@root+run]` store spec. */
export function storageImageName(ref: string): string {
  return ref.slice(CONTAINERS_STORAGE.length).replace(/^\[[^\]]*\]/, '');
}

/** Exports `ref` with skopeo into the layout `dir` under tag `image`; returns the `oci:` reference to read. */
export async function exportFromStorage(ref: string, dir: string, skopeo: string | undefined): Promise<string> {
  if (!skopeo) {
    throw new AirlockError(
      'E_UNSUPPORTED',
      `${bounded(ref, 160)}: airlock reads podman's image store through skopeo, which is not installed`,
      {
        hint:
          `export it first: podman save --format oci-archive -o image.tar ` +
          `${bounded(storageImageName(ref), 120)} — then pack oci-archive:image.tar (or install ` +
          `skopeo)`,
      },
    );
  }
  const layout = join(dir, 'layout');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await runProgram(skopeo, ['copy', '--quiet', ref, `oci:${layout}:image`], { timeoutMs: 30 * 60_000 });
  return `oci:${layout}:image`;
}
