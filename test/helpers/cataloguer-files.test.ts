// The folder feeder: paths rewritten with the folder as `/`, the execute bit carried, links and
// folders not offered, each wanting cataloguer given its own stream.
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { CandidateFile, FileCataloguer } from '../../src/sbom/cataloguers/cataloguer.ts';
import { catalogueFolder, candidateFiles } from './cataloguer-files.ts';
import { useTempDir } from './temp-dir.ts';

describe('catalogueFolder', () => {
  const dir = useTempDir('airlock-feed-');
  it('offers each regular file once, as the layer reader would, to every cataloguer that wants it', async () => {
    await mkdir(join(dir, 'usr/bin'), { recursive: true });
    await writeFile(join(dir, 'usr/bin/tool'), 'binary', { mode: 0o755 });
    await writeFile(join(dir, 'usr/bin/data'), 'text', { mode: 0o644 });
    await symlink('tool', join(dir, 'usr/bin/link'));
    assert.deepEqual(
      (await candidateFiles(dir)).map((f) => f.candidate),
      [
        { path: '/usr/bin/data', size: 4, executable: false },
        { path: '/usr/bin/tool', size: 6, executable: true },
      ],
    );
    const echo = (name: string, wants: (f: CandidateFile) => boolean): FileCataloguer => ({
      name,
      wants,
      async read(file: CandidateFile, content: Readable) {
        let text = '';
        for await (const chunk of content) text += String(chunk);
        return { packages: [], notes: [`${name} ${file.path} ${text}`] };
      },
    });
    const found = await catalogueFolder(dir, [echo('all', () => true), echo('exe', (f) => f.executable)]);
    assert.deepEqual(found.notes, ['all /usr/bin/data text', 'all /usr/bin/tool binary', 'exe /usr/bin/tool binary']);
    assert.equal(found.offered, 2);
    assert.equal(found.wanted, 3);
  });
});
