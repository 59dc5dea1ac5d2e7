import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { osvRecord } from '../../../test/helpers/osv.ts';
import type { OsvRecord } from '../types.ts';
import { groupByVulnerability, primaryId } from './aliases.ts';

/** Groups as lists of [record id, ids it brings]. */
function grouped(members: OsvRecord[], linking: OsvRecord[] = []) {
  return groupByVulnerability(
    members.map((record) => ({ record })),
    linking,
  ).map((g) => g.map((e) => [e.member.record.id, [...e.ids]]));
}

describe('alias merging', () => {
  it('primaryId: the lowest CVE when there is one, else the lowest id, in code-point order', () => {
    assert.equal(primaryId(['GHSA-b', 'DSA-1', 'CVE-2026-2', 'CVE-2026-10']), 'CVE-2026-10');
    assert.equal(primaryId(['PYSEC-2', 'GHSA-z', 'OSV-1']), 'GHSA-z');
    // Only a well-formed CVE id is preferred; a malformed one sorts like any other id.
    assert.equal(primaryId(['CVE-2026-1-extra', 'B-1', 'A-1']), 'A-1');
  });

  it('joins records naming each other in either direction, or a common id, transitively', () => {
    const a = osvRecord('A', { aliases: ['B'] });
    const b = osvRecord('B');
    const c = osvRecord('C', { upstream: ['X'] });
    const d = osvRecord('D', { aliases: ['X'] });
    const e = osvRecord('E');
    assert.deepEqual(
      grouped([a, b, c, d, e]).map((g) => g.map(([id]) => id)),
      [['A', 'B'], ['C', 'D'], ['E']],
    );
  });

  it('records that only a non-matching record links still merge', () => {
    const p = osvRecord('P', { aliases: ['X1'] });
    const q = osvRecord('Q', { aliases: ['X2'] });
    const link = osvRecord('L', { aliases: ['X1', 'X2'] });
    assert.equal(grouped([p, q]).length, 2);
    assert.equal(grouped([p, q], [link]).length, 1);
  });

  it('a record naming several CVEs joins each CVE group, bringing only its id and that CVE', () => {
    const dsa = osvRecord('DSA-1', { upstream: ['CVE-2026-1', 'CVE-2026-2'] });
    const one = osvRecord('DEBIAN-CVE-2026-1', { upstream: ['CVE-2026-1'] });
    assert.deepEqual(grouped([dsa, one]), [
      [
        ['DSA-1', ['DSA-1', 'CVE-2026-1']],
        ['DEBIAN-CVE-2026-1', ['DEBIAN-CVE-2026-1', 'CVE-2026-1']],
      ],
      [['DSA-1', ['DSA-1', 'CVE-2026-2']]],
    ]);
  });
});
