import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleReport } from '../../../test/helpers/osv.ts';

describe('scan report', () => {
  it('counts per severity after exceptions, with unknown and unevaluable counts and the gate', () => {
    const r = sampleReport();
    assert.deepEqual(r.counts, { negligible: 0, low: 1, medium: 1, high: 0, critical: 1, unknown: 1 });
    assert.deepEqual([r.unknownCount, r.unevaluableCount], [1, 1]);
    assert.deepEqual(
      r.ignored.map((i) => [i.finding.id, i.exception.reason]),
      [['CVE-2026-12', 'not reachable']],
    );
    assert.deepEqual(
      r.expiredExceptions.map((e) => e.id),
      ['GHSA-old'],
    );
    assert.equal(r.gate?.pass, false);
    assert.equal(r.gate?.failing.length, 3);
  });
});
