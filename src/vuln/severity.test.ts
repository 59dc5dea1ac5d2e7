import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { affected, osvRecord } from '../../test/helpers/osv.ts';
import { cvssBaseScore, rateCvss, rateFinding } from './severity.ts';
import type { OsvAffected, OsvRecord } from './types.ts';

const V31_CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'; // 9.8
const V31_MEDIUM = 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L'; // 5.6
const V40_CRITICAL = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'; // 9.3
const V2_TEN = 'AV:N/AC:L/Au:N/C:C/I:C/A:C'; // 10.0
const V30_NONE = 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N'; // 0.0

function rate(record: OsvRecord, entries: OsvAffected[] = []) {
  return rateFinding([{ record, affected: entries }]);
}

describe('severity', () => {
  it('scores v2, v3.0, v3.1 and v4.0 vectors with the calculator', () => {
    assert.deepEqual(cvssBaseScore(V31_CRITICAL), { score: 9.8, version: '3.x' });
    assert.deepEqual(cvssBaseScore(V31_MEDIUM), { score: 5.6, version: '3.x' });
    assert.deepEqual(cvssBaseScore(V40_CRITICAL), { score: 9.3, version: '4.0' });
    assert.deepEqual(cvssBaseScore(V2_TEN), { score: 10, version: '2.0' });
    assert.deepEqual(cvssBaseScore(`(${V2_TEN})`), { score: 10, version: '2.0' });
    assert.deepEqual(cvssBaseScore(V30_NONE), { score: 0, version: '3.x' });
  });

  it('skips vectors it cannot read or whose base metrics are incomplete', () => {
    const long = `${V31_CRITICAL}/${'E:X/'.repeat(200)}`;
    for (const v of ['garbage', 'CVSS:3.1/AV:N', 'CVSS:9.9/AV:N', 'AV:N/AC:L/Au:N/C:C/I:C/A:X', '', long])
      assert.equal(cvssBaseScore(v), undefined, v);
  });

  it('rates as grype does: v3/v4 bands, v2 never critical, 0 negligible', () => {
    assert.deepEqual(
      [0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map((s) => rateCvss(s, '3.x')),
      ['negligible', 'low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical'],
    );
    assert.equal(rateCvss(10, '2.0'), 'high');
    assert.equal(rateCvss(9.3, '4.0'), 'critical');
  });

  it('takes the highest CVSS over the record, its affected entries and its merged records', () => {
    const r1 = osvRecord('GHSA-1', { severity: [{ type: 'CVSS_V3', score: V31_MEDIUM }] });
    const entry = affected('PyPI', 'p', { severity: [{ type: 'CVSS_V2', score: V2_TEN }] });
    assert.deepEqual(rate(r1, [entry]), { severity: 'high', score: 10, source: `GHSA-1: CVSS_V2 ${V2_TEN} (10)` });
    const r2 = osvRecord('CVE-1', { severity: [{ type: 'CVSS_V4', score: V40_CRITICAL }] });
    const merged = rateFinding([
      { record: r1, affected: [entry] },
      { record: r2, affected: [] },
    ]);
    assert.equal(merged.severity, 'critical');
    assert.equal(merged.score, 9.3);
  });

  it('a CVSS vector wins over the record fields; an unreadable vector falls through to them', () => {
    const both = osvRecord('GHSA-2', {
      severity: [{ type: 'CVSS_V3', score: V31_MEDIUM }],
      databaseSpecific: { severity: 'CRITICAL' },
    });
    assert.equal(rate(both).severity, 'medium');
    const badVector = osvRecord('GHSA-3', {
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N' }],
      databaseSpecific: { severity: 'MODERATE' },
    });
    assert.deepEqual(rate(badVector), { severity: 'medium', source: 'GHSA-3: database_specific.severity MODERATE' });
  });

  it('falls back to GHSA database_specific.severity', () => {
    const words = ['CRITICAL', 'HIGH', 'MODERATE', 'LOW'];
    assert.deepEqual(
      words.map((w) => rate(osvRecord('GHSA-4', { databaseSpecific: { severity: w } })).severity),
      ['critical', 'high', 'medium', 'low'],
    );
  });

  it('falls back to the Ubuntu priority', () => {
    const rec = osvRecord('UBUNTU-CVE-1', { severity: [{ type: 'Ubuntu', score: 'medium' }] });
    assert.deepEqual(rate(rec), { severity: 'medium', source: 'UBUNTU-CVE-1: Ubuntu priority medium' });
    assert.equal(rate(osvRecord('U', { severity: [{ type: 'Ubuntu', score: 'negligible' }] })).severity, 'negligible');
  });

  it("falls back to Debian's urgency on the affected entry", () => {
    const at = (urgency: string) =>
      rate(osvRecord('DSA-1'), [affected('Debian:12', 'openssl', { ecosystemSpecific: { urgency } })]).severity;
    assert.deepEqual(['unimportant', 'low', 'medium**', 'high', 'not yet assigned', 'end-of-life'].map(at), [
      'negligible',
      'low',
      'medium',
      'high',
      'unknown',
      'unknown',
    ]);
  });

  it('is unknown when no record says anything it can read', () => {
    assert.deepEqual(rate(osvRecord('PYSEC-1')), { severity: 'unknown' });
    assert.deepEqual(rate(osvRecord('X', { databaseSpecific: { severity: 'SEVERE' } })), { severity: 'unknown' });
  });
});
