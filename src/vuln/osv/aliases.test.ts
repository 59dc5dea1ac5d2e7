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

  it('never puts two different CVEs in one group, whatever ids their records share', () => {
    // Two Debian records, one CVE each, both naming the same DSA upstream (probe H3).
    const a = osvRecord('DEBIAN-CVE-2026-1', { upstream: ['CVE-2026-1', 'DSA-9-1'] });
    const b = osvRecord('DEBIAN-CVE-2026-2', { upstream: ['CVE-2026-2', 'DSA-9-1'] });
    assert.deepEqual(
      grouped([a, b]).map((g) => g.map(([id]) => id)),
      [['DEBIAN-CVE-2026-1'], ['DEBIAN-CVE-2026-2']],
    );
    // Nor through a record without a CVE that links both, in either order, matched or only linking.
    const link = osvRecord('OSV-L', { aliases: ['GHSA-1', 'GHSA-2'] });
    const p = osvRecord('GHSA-1', { aliases: ['CVE-2026-1'] });
    const q = osvRecord('GHSA-2', { aliases: ['CVE-2026-2'] });
    for (const members of [
      [p, q],
      [q, p],
      [link, p, q],
      [p, link, q],
    ]) {
      for (const g of groupByVulnerability(
        members.map((record) => ({ record })),
        [link],
      )) {
        const cves = new Set(g.flatMap((e) => e.ids).filter((id) => id.startsWith('CVE-')));
        assert.ok(cves.size <= 1, `one group holds ${[...cves].join(', ')}`);
      }
    }
    // Records of one CVE still merge through a shared id.
    const c = osvRecord('DSA-9-2', { upstream: ['CVE-2026-1'] });
    assert.equal(grouped([a, c]).length, 1);
  });
});
