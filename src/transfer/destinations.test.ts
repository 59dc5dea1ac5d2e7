import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { landing, landings, parseDestinationName } from './destinations.ts';
import type { ImageArtifact, TransferMetadata } from './format.ts';

const image = (name: string, destination?: string): ImageArtifact => ({
  kind: 'image',
  name,
  digest: `sha256:${'a'.repeat(64)}`,
  layoutTag: '1',
  signedBy: [],
  ...(destination !== undefined ? { destination } : {}),
});
const registry = { host: 'reg.internal:5000', prefix: 'mirror', options: {} };

describe('where images land', () => {
  it('the name chosen at pack wins; without one, the old rule (a layout lands under its folder name)', () => {
    assert.deepEqual(landing(image('oci:/build:myapp-1.0', 'team/myapp:1.0'), registry), {
      reference: 'reg.internal:5000/mirror/team/myapp:1.0',
      repository: 'mirror/team/myapp',
      tag: '1.0',
    });
    assert.equal(
      landing(image('oci:/build:myapp-1.0'), registry).reference,
      'reg.internal:5000/mirror/build:myapp-1.0',
    );
    assert.equal(
      landing(image('docker://registry.corp/team/app:2'), registry).reference,
      'reg.internal:5000/mirror/team/app:2',
    );
    assert.equal(
      landing(image('docker://registry.corp/team/app@sha256:' + 'b'.repeat(64), 'app'), registry).reference,
      'reg.internal:5000/mirror/app',
    );
  });
  it('a destination from the metadata is validated like any outside name', () => {
    for (const bad of [
      '../etc',
      'Team/App',
      'a//b',
      'a:',
      'a:-bad',
      `a:${'x'.repeat(200)}`,
      'host.example:5000/a',
      '',
      `app:sha256-${'a'.repeat(64)}`,
      `app:sha256-${'a'.repeat(64)}.sig`,
      'app:SHA512-x',
    ]) {
      assert.throws(
        () => landing(image('oci:/b:t', bad), registry),
        (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED',
        bad,
      );
    }
    assert.deepEqual(parseDestinationName('a/b-c_d.e:v1.0', 'x'), { repository: 'a/b-c_d.e', tag: 'v1.0' });
  });
  it('two images on one repository and tag: E_DESTINATION_CONFLICT, before anything is pushed', () => {
    const metadata = {
      artifacts: [image('oci:/a/src:1'), { ...image('oci:/b/src:1'), name: 'oci:/b/src:1' }],
    } as unknown as TransferMetadata;
    assert.throws(
      () => landings(metadata, registry),
      (err: Error & { code?: string }) => err.code === 'E_DESTINATION_CONFLICT',
    );
  });
});

describe('packages from before `destination`', () => {
  it(
    'land where their reference suggests, validated like a chosen name; a bad one is malformed ' +
      'input, never a usage error',
    () => {
      assert.equal(
        landing(image('docker-archive:/x.tar:team/app:1'), registry).reference,
        'reg.internal:5000/mirror/team/app:1',
      );
      for (const name of [
        'docker-archive:/x.tar:team/../prod/app:1',
        'not a reference at all',
        `docker-archive:/x.tar:app:sha256-${'a'.repeat(64)}`,
      ]) {
        assert.throws(
          () => landing(image(name), registry),
          (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED',
          name,
        );
      }
    },
  );
});
