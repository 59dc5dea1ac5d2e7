import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { openLayoutStore } from '../oci/layout/layout-store.ts';
import { makeTestImage, makeTestIndex } from '../../test/helpers/oci-images.ts';
import { imageSubjects, unscannedPlatforms } from './image-trust.ts';

const tempDir = useTempDirs();

describe('which platforms the scans are about', () => {
  it('a multi-platform image needs a scan naming each platform; the index alone names none of them', async () => {
    const dir = await tempDir('airlock-platforms-');
    const store = await openLayoutStore(dir, { create: true });
    const { index, images } = await makeTestIndex(
      store,
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      'multi',
    );
    const subjects = await imageSubjects(store, index);
    assert.deepEqual(
      subjects.platforms.map((p) => p.name),
      ['linux/amd64', 'linux/arm64'],
    );
    const [amd] = images.map((i) => i.manifest.digest);
    assert.deepEqual(
      unscannedPlatforms(subjects, [[amd ?? '', index.digest]]).map((p) => p.name),
      ['linux/arm64'],
      'grype names the platform it scanned and the index as a repo digest',
    );
    assert.deepEqual(
      unscannedPlatforms(subjects, [[amd ?? ''], [images[1]?.config.digest ?? '']]),
      [],
      'a config digest (grype imageID) names its platform',
    );
    assert.deepEqual(unscannedPlatforms(subjects, [[index.digest]]).length, 2);
    assert.deepEqual(
      unscannedPlatforms(subjects, [[]]).length,
      2,
      'a scan that names nothing covers no platform of many',
    );
    const single = await makeTestImage(store, { tag: 'one' });
    const one = await imageSubjects(store, single.manifest);
    assert.deepEqual(
      unscannedPlatforms(one, [[]]),
      [],
      'one platform: a scan naming nothing is taken (and said to name nothing)',
    );
    assert.deepEqual(unscannedPlatforms(one, [[`sha256:${'e'.repeat(64)}`]]).length, 1);
    await store.close();
  });
});
