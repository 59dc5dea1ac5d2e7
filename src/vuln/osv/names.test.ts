import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizePypiName, osvPackageName, osvVersion } from './names.ts';

describe('OSV names and versions', () => {
  it('PEP 503: lower-case, runs of - _ . become one -', () => {
    assert.deepEqual(['Django', 'zope.interface', 'Foo__Bar', 'a-_.-b', 'ruamel.yaml.clib'].map(normalizePypiName), [
      'django',
      'zope-interface',
      'foo-bar',
      'a-b',
      'ruamel-yaml-clib',
    ]);
  });

  it('only PyPI names are normalised', () => {
    assert.equal(osvPackageName('PyPI', 'PyYAML'), 'pyyaml');
    assert.equal(osvPackageName('npm', '@Scope/Pkg_x'), '@Scope/Pkg_x');
    assert.equal(osvPackageName('Debian:12', 'libssl3'), 'libssl3');
  });

  it('Go versions lose their v, the toolchain its go; other ecosystems keep theirs', () => {
    assert.equal(osvVersion('Go', 'v1.2.3'), '1.2.3');
    assert.equal(osvVersion('Go', 'v0.0.0-20240101000000-abcdef123456'), '0.0.0-20240101000000-abcdef123456');
    assert.equal(osvVersion('Go', 'go1.22.1'), '1.22.1');
    assert.equal(osvVersion('Go', 'vendor'), 'vendor');
    assert.equal(osvVersion('npm', 'v1.2.3'), 'v1.2.3');
  });
});
