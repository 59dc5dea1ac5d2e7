import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  affected,
  catalogued,
  memorySource,
  numericOrder,
  osvRecord,
  sampleReport,
  semverOrder,
} from '../../../test/helpers/osv.ts';
import { evaluateGate } from '../gate.ts';
import { applyIgnores, parseIgnoreFile } from '../ignore.ts';
import { matchPackages } from '../match.ts';
import { renderJson } from './json.ts';
import { scanReport } from './report.ts';

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

  it('from records to the JSON document: match, exceptions, gate, report', () => {
    const fixedBelow = (fixed: string) => [
      affected('PyPI', 'p', { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }),
    ];
    const records = [
      osvRecord('PYSEC-1', { aliases: ['CVE-2026-1'], affected: fixedBelow('2') }),
      osvRecord('GHSA-1', {
        aliases: ['CVE-2026-1'],
        databaseSpecific: { severity: 'HIGH' },
        affected: fixedBelow('2'),
      }),
      osvRecord('PYSEC-2', { affected: fixedBelow('3') }),
    ];
    const match = matchPackages(
      [catalogued({ name: 'p', version: '1' })],
      memorySource(records),
      () => numericOrder,
      semverOrder,
    );
    const now = new Date('2026-12-07T00:00:00Z');
    const exceptions = parseIgnoreFile('- {id: PYSEC-2, reason: tested, expires: 2027-01-01}', 'x.yaml');
    const applied = applyIgnores(match.findings, exceptions, now);
    const options = { failOn: 'high', unknownSeverity: 'fail' } as const;
    const report = scanReport({
      subject: { name: 'sbom.spdx.json' },
      database: { name: 'osv', version: '1', built: '2026-12-06T00:00:00Z', contentHash: `sha256:${'c'.repeat(64)}` },
      scanner: { name: 'airlock', version: '0.1.0', uri: 'https://example.invalid/airlock' },
      startedAt: now,
      finishedAt: now,
      applied,
      gate: { options, result: evaluateGate(applied.kept, options) },
      notes: match.notes,
    });
    const doc = JSON.parse(renderJson(report)) as {
      findings: Array<{ id: string; aliases: string[]; severity: string }>;
      ignored: Array<{ id: string }>;
      gate: { pass: boolean; failing: string[] };
    };
    assert.deepEqual(doc.findings, [
      {
        ...doc.findings[0],
        id: 'CVE-2026-1',
        aliases: ['GHSA-1', 'PYSEC-1'],
        severity: 'high',
      },
    ]);
    assert.deepEqual(
      doc.ignored.map((i) => i.id),
      ['PYSEC-2'],
    );
    assert.deepEqual(doc.gate.failing, ['CVE-2026-1 in p@1']);
  });
});
