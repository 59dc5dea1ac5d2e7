import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { assertNoCredentials, formatImageReference, parseImageReference, redactReference } from './reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  const cases: Array<[string, object]> = [
    ['oci:/srv/layout', { transport: 'oci', path: '/srv/layout' }],
    ['oci:/srv/layout:v1', { transport: 'oci', path: '/srv/layout', tag: 'v1' }],
    [`oci:./l@${D}`, { transport: 'oci', path: './l', digest: D }],
    ['oci-archive:/tmp/a.tar:latest', { transport: 'oci-archive', path: '/tmp/a.tar', tag: 'latest' }],
    ['docker-archive:app.tar', { transport: 'docker-archive', path: 'app.tar' }],
    ['docker-archive:app.tar:myapp:v1.0', { transport: 'docker-archive', path: 'app.tar', name: 'myapp:v1.0' }],
    [
      'docker://127.0.0.1:5000/ns/app:v1',
      { transport: 'docker', registry: '127.0.0.1:5000', repository: 'ns/app', tag: 'v1' },
    ],
    [
      `registry.example.com/app@${D}`,
      { transport: 'docker', registry: 'registry.example.com', repository: 'app', digest: D },
    ],
    ['alpine', { transport: 'docker', registry: 'docker.io', repository: 'library/alpine' }],
    ['localhost/app:1', { transport: 'docker', registry: 'localhost', repository: 'app', tag: '1' }],
  ];
  for (const [text, expected] of cases) {
    it(text, () => {
      assert.deepEqual(parseImageReference(text), expected);
    });
  }
  it('round-trips through formatImageReference', () => {
    for (const [text] of cases.slice(0, 8))
      assert.equal(
        formatImageReference(parseImageReference(text)),
        text.startsWith('registry') ? `docker://${text}` : text,
      );
  });
  for (const bad of [
    'docker:app',
    'oci:',
    `oci:/x@sha256:abc`,
    'Registry.example.com/App:1',
    'ftp://x/y',
    'docker://r.io/app:bad tag',
  ]) {
    it(`refuses ${bad}`, () =>
      assert.throws(
        () => parseImageReference(bad),
        (e) => isAirlockError(e, 'E_USAGE'),
      ));
  }
});

describe('credentials in a reference', () => {
  const SECRET = 'hunter2-Pw';
  // [reference, what the message shows instead]: every transport, the password with the characters a
  // URL would have escaped, a user name alone, and no path at all.
  const cases: Array<[string, string]> = [
    [`docker://alice:${SECRET}@registry.example.com/app:1`, 'docker://***@registry.example.com/app:1'],
    [`alice:${SECRET}@registry.example.com/app:1`, '***@registry.example.com/app:1'],
    [`alice:${SECRET}@127.0.0.1:5000/ns/app@${D}`, `***@127.0.0.1:5000/ns/app@${D}`],
    [`https://alice:${SECRET}@registry.example.com/app`, 'https://***@registry.example.com/app'],
    [`HTTP://alice:${SECRET}@registry.example.com`, 'HTTP://***@registry.example.com'],
    [`alice:p@ss/${SECRET}@registry.example.com/app`, '***@registry.example.com/app'],
    [`alice:${SECRET}@registry.example.com`, '***@registry.example.com'],
    [`${SECRET}@registry.example.com/app`, '***@registry.example.com/app'],
    [`oci://alice:${SECRET}@host/layout:v1`, 'oci://***@host/layout:v1'],
    [`oci:alice:${SECRET}@host/layout@${D}`, `oci:***@host/layout@${D}`],
    [`oci-archive:alice:${SECRET}@host/a.tar`, 'oci-archive:***@host/a.tar'],
    [`docker-archive:app.tar:alice:${SECRET}@host/app:1`, 'docker-archive:app.tar:***@host/app:1'],
  ];
  for (const [text, shown] of cases) {
    it(`refuses ${shown} without showing the password`, () => {
      assert.throws(
        () => parseImageReference(text),
        (e) =>
          isAirlockError(e, 'E_USAGE') &&
          e.message.includes(shown) &&
          !JSON.stringify(e.toJSON()).includes(SECRET) &&
          !(e.stack ?? '').includes(SECRET),
      );
      assert.equal(redactReference(text), shown);
    });
  }
  it('leaves alone an @ that starts a digest, and one inside a local path that ends in a digest', () => {
    for (const text of [
      `alpine:3.19@${D}`,
      `registry.example.com/app@${D}`,
      `oci:/data/@team/layout@${D}`,
      'docker-archive:/data/@team/app.tar',
      'oci:/srv/layout:v1',
    ]) {
      assert.doesNotThrow(() => parseImageReference(text), text);
      assert.equal(redactReference(text), text);
    }
  });
  it('assertNoCredentials refuses a registry flag with user information, naming the flag', () => {
    assert.throws(
      () => assertNoCredentials(`alice:${SECRET}@registry.internal/mirror`, '--registry'),
      (e) =>
        isAirlockError(e, 'E_USAGE') &&
        e.message.includes("--registry '***@registry.internal/mirror'") &&
        !JSON.stringify(e.toJSON()).includes(SECRET),
    );
    assert.doesNotThrow(() => assertNoCredentials('registry.internal:5000/mirror', '--registry'));
  });
  it('a long reference is shortened in the message', () => {
    const long = `registry.example.com/${'a'.repeat(5000)}:Bad Tag`;
    assert.throws(
      () => parseImageReference(long),
      (e) => isAirlockError(e, 'E_USAGE') && e.message.length < 600,
    );
  });
});
