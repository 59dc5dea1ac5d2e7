// The `docker-archive:FILE[:NAME:TAG]` store: the `docker save` / `podman save` tar. Reading
// synthesises Docker schema2 manifests (or serves the originals airlock kept under airlock/);
// writing produces an archive docker load, podman load and skopeo accept. See the two halves.
import type { ArchiveStore } from './archive-files.ts';
import { openDockerArchiveReader } from './docker-archive-read.ts';
import { type DockerWriteOptions, openDockerArchiveWriter } from './docker-archive-write.ts';

export type { ArchiveStore } from './archive-files.ts';

export type DockerArchiveOptions = DockerWriteOptions;

export async function openDockerArchive(file: string, options: DockerArchiveOptions): Promise<ArchiveStore> {
  if (options.mode === 'write') return openDockerArchiveWriter(file, options);
  return openDockerArchiveReader(file, {
    ...(options.tempDir ? { tempDir: options.tempDir } : {}),
    ...(options.name ? { name: options.name } : {}),
  });
}
