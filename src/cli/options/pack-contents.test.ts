import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testContext } from '../../../test/helpers/command-context.ts';
import { PACK_CONTENT_FLAGS, packContents } from './pack-contents.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-pack-contents-'));
  await writeFile(join(dir, 'notes.txt'), 'release notes\n');
});
after(() => rm(dir, { recursive: true, force: true }));

const contents = (...argv: string[]) => packContents(testContext(argv, PACK_CONTENT_FLAGS).ctx);

describe('packContents', () => {
  it('existing files travel as files, everything else (and any transport) as an image', async () => {
    const notes = join(dir, 'notes.txt');
    const c = await contents(notes, `oci:${dir}:app`, 'registry.corp/app:1.0', 'containers-storage:app');
    assert.deepEqual(c.files, [notes]);
    assert.deepEqual(c.images, [`oci:${dir}:app`, 'registry.corp/app:1.0', 'containers-storage:app']);
  });

  it('IMAGE=VALUE pairs, several scans per image (one per platform)', async () => {
    const c = await contents(
      'registry.corp/app:1.0',
      '--sbom',
      'registry.corp/app:1.0=sbom.json',
      '--scan',
      'registry.corp/app:1.0=amd64.json',
      '--scan',
      'registry.corp/app:1.0=arm64.json',
      '--name',
      'registry.corp/app:1.0=team/app:1.0',
    );
    assert.deepEqual(c.sboms, new Map([['registry.corp/app:1.0', 'sbom.json']]));
    assert.deepEqual(c.scans, new Map([['registry.corp/app:1.0', ['amd64.json', 'arm64.json']]]));
    assert.deepEqual(c.names, new Map([['registry.corp/app:1.0', 'team/app:1.0']]));
  });

  it('refuses a pair without IMAGE=, and a malformed reference, before anything is read', async () => {
    await assert.rejects(contents('registry.corp/app:1.0', '--sbom', 'sbom.json'), { code: 'E_USAGE' });
    await assert.rejects(contents('Registry.corp/APP:::1'), { code: 'E_USAGE' });
  });
});
