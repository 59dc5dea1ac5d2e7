import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { formatImageReference, parseImageReference } from './reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  const cases: Array<[string, object]> = [
    ['oci:/srv/layout', { transport: 'oci', path: '/srv/layout' }],
    ['oci:/srv/layout:v1', { transport: 'oci', path: '/srv/layout', tag: 'v1' }],
    [`oci:./l@${D}`, { transport: 'oci', path: './l', digest: D }],
    ['oci-archive:/tmp/a.tar:latest', { transport: 'oci-archive', path: '/tmp/a.tar', tag: 'latest' }],
    ['docker-archive:app.tar', { transport: 'docker-archive', path: 'app.tar' }],
    ['docker-archive:app.tar:myapp:v1.0', { transport: 'docker-archive', path: 'app.tar', name: 'myapp:v1.0' }],
    ['docker://127.0.0.1:5000/ns/app:v1', { transport: 'docker', registry: '127.0.0.1:5000', repository: 'ns/app', tag: 'v1' }],
    [`registry.example.com/app@${D}`, { transport: 'docker', registry: 'registry.example.com', repository: 'app', digest: D }],
    ['alpine', { transport: 'docker', registry: 'docker.io', repository: 'library/alpine' }],
    ['localhost/app:1', { transport: 'docker', registry: 'localhost', repository: 'app', tag: '1' }],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      assert.deepEqual(parseImageReference(text), expected);
    });
  }
  it('round-trips through formatImageReference', () => {
    for (const [text] of cases.slice(0, 8)) assert.equal(formatImageReference(parseImageReference(text)), text.startsWith('registry') ? `docker://${text}` : text);
  });
  for (const bad of ['docker:app', 'oci:', `oci:/x@sha256:abc`, 'Registry.example.com/App:1', 'ftp://x/y', 'docker://r.io/app:bad tag']) {
    it(`refuses ${bad}`, () => assert.throws(() => parseImageReference(bad), (e) => isAirlockError(e, 'E_USAGE')));
  }
});
