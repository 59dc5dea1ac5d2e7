import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finding } from '../../../../test/helpers/osv.ts';
import { diffImages, findingKey, rescanReport } from '../../../transfer/rescan.ts';
import { applyIgnores } from '../../../vuln/ignore.ts';
import { scanReport } from '../../../vuln/report/report.ts';
import { rescanJson, rescanTable } from './rescan.ts';

const AT = new Date('2026-12-07T10:00:00Z');
const DB = { name: 'default', version: 'v', built: '2026-12-01T00:00:00Z', contentHash: 'sha256:ab' };
const DIGEST = `sha256:${'a'.repeat(64)}`;
const low = finding('CVE-2026-1', { severity: 'low' });
const critical = finding('CVE-2026-3', { severity: 'critical', fixedVersions: ['3.0.12-1'] });
const previous = { format: 'airlock.dev/rescan-state/v1', at: '2026-12-06T10:00:00.000Z', images: {} } as const;

const report = rescanReport({
  at: AT,
  database: DB,
  images: diffImages(
    [
      {
        name: 'reg.internal/app:1',
        digest: DIGEST,
        report: scanReport({
          subject: { name: 'reg.internal/app:1', digest: DIGEST },
          database: DB,
          scanner: { name: 'airlock', version: '0', uri: 'x' },
          startedAt: AT,
          finishedAt: AT,
          applied: applyIgnores([low, critical], [], AT),
          notes: [],
        }),
      },
    ],
    { ...previous, images: { [DIGEST]: [findingKey(low)] } },
  ),
  notEvaluated: [{ name: 'reg.internal/b:2', reason: 'no SBOM kept at import i' }],
  previous,
  gate: { failOn: 'high', unknownSeverity: 'fail' },
});

describe('scan --imported output', () => {
  it('the table: per image its counts (most severe first), then the new findings; the images not evaluated', () => {
    const lines = rescanTable(report).split('\n');
    assert.match(lines[1] ?? '', /reg\.internal\/app:1 sha256:a{12}… {2}2 finding\(s\) \(C:1 L:1\), 1 new$/);
    assert.match(lines[2] ?? '', /^ {4}CVE-2026-3 {2}critical {2}openssl@3\.0\.11-1 {2}fixed in 3\.0\.12-1$/);
    assert.match(lines[3] ?? '', /reg\.internal\/b:2 {2}NOT EVALUATED: no SBOM kept at import i/);
    assert.match(lines[4] ?? '', /1 image\(s\) scanned, 1 not evaluated, 1 new finding\(s\) since 2026-12-06/);
  });

  it('the JSON document: images with findings and new, newFindings, notEvaluated, database', async () => {
    const doc = (await rescanJson(report)) as {
      images: Array<{ findings: Array<{ id: string }>; new: Array<{ id: string }> }>;
    } & Record<string, unknown>;
    assert.deepEqual(
      doc.images.map((i) => [i.findings.map((f) => f.id), i.new.map((f) => f.id)]),
      [[['CVE-2026-1', 'CVE-2026-3'], ['CVE-2026-3']]],
    );
    assert.equal(doc.newFindings, 1);
    assert.deepEqual(doc.notEvaluated, [{ name: 'reg.internal/b:2', reason: 'no SBOM kept at import i' }]);
    assert.deepEqual(doc.database, DB);
    assert.equal((doc.gate as { pass: boolean }).pass, false);
  });
});
