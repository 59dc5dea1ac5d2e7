import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import semver from 'semver';
import { assertAscending, opOf, readVectors } from '../../../test/fixtures/versions/vectors.ts';
import { npmOrder, semverOrder } from './semver.ts';

const SEMVER_SPEC_ORDER = [
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-alpha.beta',
  '1.0.0-beta',
  '1.0.0-beta.2',
  '1.0.0-beta.11',
  '1.0.0-rc.1',
  '1.0.0',
  '1.0.1',
  '1.10.0',
  '2.0.0',
];

describe('npmOrder and semverOrder (the semver package)', () => {
  it('follow SemVer 2.0 precedence (semver.org §11), build metadata ignored', () => {
    for (const order of [npmOrder, semverOrder]) {
      assertAscending(order, SEMVER_SPEC_ORDER);
      assert.equal(order('1.0.0+build.1', '1.0.0+other'), 0);
    }
  });

  it('npm reads versions loosely, as npm reads package.json', () => {
    assert.equal(npmOrder('=1.2.3', '1.2.3'), 0);
    assert.equal(npmOrder(' v1.2.3 ', '1.2.3'), 0);
    assert.ok(npmOrder('1.2.3beta', '1.2.3') < 0, 'a loose pre-release');
    for (const bad of ['', '1.2', 'latest', '1.2.3.4', '1.2.x'])
      assert.throws(() => npmOrder(bad, '1.0.0'), { code: 'E_VERSION_INVALID' }, bad);
  });

  it('semverOrder strips one `v` and fills a short version with zeros, and reads nothing else', () => {
    assert.equal(semverOrder('v1.2.3', '1.2.3'), 0);
    assert.equal(semverOrder('1', '1.0.0'), 0);
    assert.equal(semverOrder('1.2', 'v1.2.0'), 0);
    assert.ok(semverOrder('1.2-rc.1', '1.2.0') < 0);
    for (const bad of ['', 'vv1.2.3', '=1.2.3', '01.2.3', '1.2.3.4', ' 1.2.3', '1.2.3-01'])
      assert.throws(() => semverOrder(bad, '1.0.0'), { code: 'E_VERSION_INVALID' }, bad);
  });

  it('agrees with the semver package itself on every valid pair of the SemVer vectors', (t) => {
    const vectors = readVectors('scalibr-semver-versions.txt');
    const strict = vectors.filter((v) => semver.valid(v.a) !== null && semver.valid(v.b) !== null);
    let checked = 0;
    for (const v of strict) {
      const expected = opOf(semver.compare(v.a, v.b));
      assert.equal(opOf(semverOrder(v.a, v.b)), expected, `line ${v.line}`);
      assert.equal(opOf(npmOrder(v.a, v.b)), expected, `line ${v.line}`);
      assert.equal(expected, v.op, `osv-scalibr line ${v.line}`);
      checked++;
    }
    t.diagnostic(`${checked} of ${vectors.length} osv-scalibr SemVer vectors are strict SemVer and agree`);
    assert.ok(checked > 40);
  });
});
