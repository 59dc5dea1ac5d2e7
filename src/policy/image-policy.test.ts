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

describe('image policy: what admission adds', () => {
  const admission = {
    apiVersion: 'airlock/v1',
    kind: 'ImagePolicy',
    mode: 'warn',
    namespaces: { names: ['prod'] },
    images: [
      {
        glob: 'registry.corp/**',
        mode: 'enforce',
        pinDigest: false,
        authorities: [{ identity: { exact: 'a' }, issuer: { exact: 'b' }, trust: 'corp' }],
        attestations: ['spdxjson', { predicateType: 'vuln', maxSeverity: 'High' }],
        requireLogInclusion: { logKey: 'log.vkey', witnessPolicy: 'w.txt' },
      },
      { glob: 'other/**', authorities: [{ key: 'k.pub' }] },
    ],
  };

  it('reads mode, scope, trust, conditions, log inclusion and the pin opt-out; entries inherit the defaults', () => {
    const p = parseImagePolicy(admission, 'p.yaml');
    assert.equal(p.mode, 'warn');
    const [first, second] = p.entries;
    assert.equal(first?.mode, 'enforce');
    assert.equal(first?.pinDigest, false);
    assert.deepEqual(first?.authorities[0], { identity: { exact: 'a' }, issuer: { exact: 'b' }, trust: 'corp' });
    assert.deepEqual(first?.attestations, [
      'https://spdx.dev/Document',
      'https://cosign.sigstore.dev/attestation/vuln/v1',
    ]);
    assert.deepEqual(first?.conditions, [
      { predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1', maxSeverity: 'high' },
    ]);
    assert.deepEqual(first?.requireLogInclusion, { logKey: 'log.vkey', witnessPolicy: 'w.txt' });
    assert.equal(second?.mode, 'warn');
    assert.equal(second?.pinDigest, true);
    assert.deepEqual(second?.namespaces, { names: ['prod'] });
  });

  it('a policy written for import means what it meant: enforce, everywhere, pinned, no conditions', () => {
    const p = parseImagePolicy(doc, 'p.json');
    assert.equal(p.mode, 'enforce');
    for (const e of p.entries) {
      assert.equal(e.mode, 'enforce');
      assert.deepEqual(e.namespaces, {});
      assert.equal(e.pinDigest, true);
      assert.deepEqual(e.conditions, []);
      assert.equal(e.requireLogInclusion, undefined);
    }
  });

  it('refuses what it cannot mean', () => {
    const entry = admission.images[0] as Record<string, unknown>;
    for (const bad of [
      { ...admission, mode: 'audit' },
      { ...admission, images: [{ ...entry, mode: 'off' }] },
      { ...admission, images: [{ ...entry, pinDigest: 'no' }] },
      { ...admission, images: [{ ...entry, attestations: [{ maxSeverity: 'high' }] }] },
      { ...admission, images: [{ ...entry, attestations: [{ predicateType: 'vuln', maxSeverity: 'severe' }] }] },
      { ...admission, images: [{ ...entry, requireLogInclusion: { witnessPolicy: 'w' } }] },
      {
        ...admission,
        images: [{ ...entry, authorities: [{ identity: { exact: 'a' }, issuer: { exact: 'b' }, trust: 1 }] }],
      },
      { ...admission, images: [{ ...entry, namespaces: { selector: { matchLabels: { a: 'b' } } } }] },
    ]) {
      assert.throws(
        () => parseImagePolicy(bad, 'p.yaml'),
        (e) => isAirlockError(e) && (e.code === 'E_INPUT_MALFORMED' || e.code === 'E_USAGE'),
        JSON.stringify(bad).slice(0, 200),
      );
    }
  });
});
