import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { globToRegExp, matchingEntries, parseImagePolicy, policyName, requirementsFor } from './image-policy.ts';

const doc = {
  apiVersion: 'airlock/v1',
  kind: 'ImagePolicy',
  images: [
    { glob: 'registry.corp/team/*', authorities: [{ key: 'team.pub' }], attestations: ['spdxjson'] },
    {
      glob: 'registry.corp/**',
      authorities: [{ identity: { regexp: 'https://ci\\.corp/.*' }, issuer: { exact: 'https://id.corp' } }],
    },
  ],
};

describe('image policy', () => {
  it('parses, resolves attestation short names, and rejects malformed policies', () => {
    const p = parseImagePolicy(doc, 'p.json');
    assert.deepEqual(p.entries[0]?.attestations, ['https://spdx.dev/Document']);
    for (const bad of [
      {},
      { ...doc, images: [] },
      { ...doc, images: [{ glob: 'x', authorities: [] }] },
      { ...doc, images: [{ glob: 'x', authorities: [{ identity: { exact: 'a' } }] }] },
    ]) {
      assert.throws(
        () => parseImagePolicy(bad, 'p.json'),
        (e) => isAirlockError(e, 'E_INPUT_MALFORMED'),
      );
    }
  });

  it('globs: * stays within a segment, ** crosses segments; names lose transport, tag and digest', () => {
    assert.ok(globToRegExp('registry.corp/team/*').test('registry.corp/team/app'));
    assert.ok(!globToRegExp('registry.corp/team/*').test('registry.corp/team/sub/app'));
    assert.ok(globToRegExp('registry.corp/**').test('registry.corp/team/sub/app'));
    assert.ok(!globToRegExp('registry.corp/*').test('registry.corpX/app'));
    assert.equal(policyName('docker://registry.corp/team/app:1.0'), 'registry.corp/team/app');
    assert.equal(policyName(`registry.corp:5000/app@sha256:${'a'.repeat(64)}`), 'registry.corp:5000/app');
  });

  it('every matching entry applies; an image nothing matches is denied', () => {
    const p = parseImagePolicy(doc, 'p.json');
    assert.equal(matchingEntries(p, 'docker://registry.corp/team/app:1.0').length, 2);
    const reqs = requirementsFor(p, 'docker://registry.corp/team/app:1.0');
    assert.deepEqual(
      reqs.map((r) => [r.entry.glob, r.predicateType]),
      [
        ['registry.corp/team/*', undefined],
        ['registry.corp/team/*', 'https://spdx.dev/Document'],
        ['registry.corp/**', undefined],
      ],
    );
    assert.throws(
      () => requirementsFor(p, 'docker://elsewhere.io/app:1'),
      (e) => isAirlockError(e, 'E_POLICY_DENIED'),
    );
  });

  // Attack: pack under a name a lax entry admits, land under a name a strict entry guards.
  it('an image known by two names meets the entries of both, each once', () => {
    const p = parseImagePolicy(doc, 'p.json');
    const both = requirementsFor(p, ['docker://elsewhere.io/app:1', 'docker://registry.corp/team/app:1']);
    assert.deepEqual(
      both.map((r) => r.entry.glob),
      ['registry.corp/team/*', 'registry.corp/team/*', 'registry.corp/**'],
    );
    assert.equal(
      requirementsFor(p, ['docker://registry.corp/team/app:1', 'docker://registry.corp/x/y:2']).filter(
        (r) => r.entry.glob === 'registry.corp/**',
      ).length,
      1,
    );
    assert.throws(() => requirementsFor(p, ['docker://elsewhere.io/app:1', 'docker://other.io/app:1']), {
      code: 'E_POLICY_DENIED',
      message: /elsewhere\.io\/app or other\.io\/app/,
    });
  });
});
