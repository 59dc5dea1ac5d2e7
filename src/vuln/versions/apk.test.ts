import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAscending, disagreements, readVectors } from '../../../test/fixtures/versions/vectors.ts';
import { apkOrder } from './apk.ts';

/**
 * osv-scalibr's hand-written Alpine vectors follow apk-tools 3 on these malformed versions (its comments
 * say "on latest apk these are '<' but on 3.x they're '>'"); apk-tools 2 answers as here (checked by hand
 * against its src/version.c at v2.14.9).
 */
const APK2_WHERE_SCALIBR_FOLLOWS_APK3: ReadonlyMap<string, '<' | '=' | '>'> = new Map([
  ['1-r-0 1-r0', '>'],
  ['1-r-1 1-r0', '>'],
  ['0.r1 0r2', '>'],
  ['0.8.21.r2 0.8.21r2', '>'],
  ['1.2.0A 1.2.0d', '>'],
  ['1.2.0D 1.2.0d', '>'],
  ['1 1-ruff', '<'],
  ['1-ruff2 1--ruff1', '<'],
]);

describe('apkOrder (apk-tools 2, what Alpine v3.x releases compare with)', () => {
  it('orders suffixes alpha < beta < pre < rc < none < cvs < svn < git < hg < p, then the revision', () => {
    const ascending = [
      '1.2.3_alpha',
      '1.2.3_alpha2',
      '1.2.3_beta',
      '1.2.3_pre1',
      '1.2.3_rc1',
      '1.2.3',
      '1.2.3-r1',
      '1.2.3-r10',
      '1.2.3_cvs',
      '1.2.3_svn',
      '1.2.3_git20240101',
      '1.2.3_hg',
      '1.2.3_p1',
      '1.2.3_p1-r1',
      '1.2.3a',
      '1.2.3b',
      '1.2.4',
      '1.10',
    ];
    assertAscending(apkOrder, ascending);
    assert.equal(apkOrder('1-r1', '1-r01'), 0, 'revisions are numbers');
    assert.ok(apkOrder('1.05', '1.5') < 0, 'a later number with leading zeros weighs less');
    assert.ok(apkOrder('1.005', '1.05') < 0);
  });

  it('reads digits after the letter, as real Alpine versions are written', () => {
    assert.ok(apkOrder('5.7.1p1-r0', '5.7.1p1-r1') < 0);
    assert.ok(apkOrder('9.3p1-r2', '9.3p2-r0') < 0);
    assert.ok(apkOrder('1.0a1', '1.0a2') < 0);
  });

  it('compares malformed versions as apk does', () => {
    assert.ok(apkOrder('23_foo', '4_beta') > 0);
    assert.ok(apkOrder('1.0', '1.0bc') < 0);
    assert.ok(apkOrder('1.0_foo', '1.0') < 0, 'an unknown suffix weighs as a pre-release');
    assert.ok(apkOrder('1.' + '9'.repeat(18), '1.1') < 0, 'a number of 18 digits is malformed');
  });

  it('refuses with E_VERSION_INVALID a version that does not start with a number', () => {
    for (const bad of ['', 'r1', '_alpha', ' 1.0', 'v1.0'])
      assert.throws(() => apkOrder(bad, '1.0'), { code: 'E_VERSION_INVALID' }, bad);
  });

  // apk-tools 2.14.9's own test/version.data (GPL-2.0, so not copied here) also agreed, 733 of 733,
  // and so did all 13,979 lines of osv-scalibr's alpine-versions-generated.txt, when this was written.
  it("agrees with osv-scalibr's Alpine vectors (apk-tools 2's answer where they follow apk-tools 3)", (t) => {
    for (const name of ['scalibr-alpine-versions.txt', 'scalibr-alpine-versions-generated.txt']) {
      const all = readVectors(name);
      const readable = all
        .filter((v) => /^[0-9]/.test(v.a) && /^[0-9]/.test(v.b))
        .map((v) => ({ ...v, op: APK2_WHERE_SCALIBR_FOLLOWS_APK3.get(`${v.a} ${v.b}`) ?? v.op }));
      for (const v of all.filter((x) => !/^[0-9]/.test(x.a) || !/^[0-9]/.test(x.b)))
        assert.throws(() => apkOrder(v.a, v.b), { code: 'E_VERSION_INVALID' });
      t.diagnostic(`${name}: ${readable.length} of ${all.length} vectors compared, the rest refused`);
      assert.ok(readable.length > 300, name);
      assert.deepEqual(disagreements(readable, apkOrder), [], name);
    }
  });
});
