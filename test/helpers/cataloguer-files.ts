// Feeds the files of a folder on disk to cataloguers the way the layer reader offers an image's files:
// each regular file once, as a CandidateFile whose path is absolute with the folder as `/`, read as a
// stream by every cataloguer that wants it. Symbolic links are not followed (the layer reader resolves
// them in the squashed view; a folder on disk has no such view). For tests of cataloguers against the
// ecosystems' own tools over real trees (an npm install, a site-packages folder, a Go build output).
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { CandidateFile, FileCataloguer } from '../../src/sbom/cataloguers/cataloguer.ts';
import type { FoundPackage } from '../../src/sbom/package.ts';

export interface FolderCatalogue {
  readonly packages: FoundPackage[];
  readonly notes: string[];
  /** How many files were offered, and how many times a cataloguer wanted one. */
  readonly offered: number;
  readonly wanted: number;
}

/** Every regular file under `root`, as the layer reader would describe it, in a stable order. */
export async function candidateFiles(root: string): Promise<{ candidate: CandidateFile; diskPath: string }[]> {
  const names = (await readdir(root, { recursive: true })).sort();
  const files: { candidate: CandidateFile; diskPath: string }[] = [];
  for (const name of names) {
    const diskPath = join(root, name);
    const stat = await lstat(diskPath);
    if (!stat.isFile()) continue;
    const path = `/${relative(root, diskPath).split(sep).join('/')}`;
    files.push({ candidate: { path, size: stat.size, executable: (stat.mode & 0o111) !== 0 }, diskPath });
  }
  return files;
}

/** Offers every file under `root` to the cataloguers and collects what they found and noted. */
export async function catalogueFolder(root: string, cataloguers: readonly FileCataloguer[]): Promise<FolderCatalogue> {
  const result: FolderCatalogue = { packages: [], notes: [], offered: 0, wanted: 0 };
  let offered = 0;
  let wanted = 0;
  for (const { candidate, diskPath } of await candidateFiles(root)) {
    offered++;
    for (const cataloguer of cataloguers) {
      if (!cataloguer.wants(candidate)) continue;
      wanted++;
      const content = createReadStream(diskPath);
      try {
        const found = await cataloguer.read(candidate, content);
        result.packages.push(...found.packages);
        result.notes.push(...(found.notes ?? []));
      } finally {
        content.destroy();
      }
    }
  }
  return { ...result, offered, wanted };
}
