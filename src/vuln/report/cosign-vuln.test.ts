import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleReport } from '../../../test/helpers/osv.ts';
import { overSeverity, vulnFindings } from '../../admission/vuln-predicate.ts';
import { COSIGN_VULN_PREDICATE_TYPE, cosignVulnPredicate } from './cosign-vuln.ts';

describe('cosignVulnPredicate', () => {
  it("the predicate's shape, and airlock's admission reader reads what it writes", () => {
    const predicate = cosignVulnPredicate(sampleReport(), { uri: 'https://ci.example/run/7', builderId: 'ci' });
    assert.equal(COSIGN_VULN_PREDICATE_TYPE, 'https://cosign.sigstore.dev/attestation/vuln/v1');
    const p = predicate as {
      invocation: Record<string, unknown>;
      scanner: { uri: string; version: string; db: { uri: string; version: string }; result: unknown };
      metadata: Record<string, unknown>;
    };
    assert.deepEqual(p.invocation, {
      parameters: null,
      uri: 'https://ci.example/run/7',
      event_id: '',
      'builder.id': 'ci',
    });
    assert.deepEqual(
      [p.scanner.uri, p.scanner.version, p.scanner.db],
      [
        'https://example.invalid/airlock',
        '0.1.0',
        { uri: `airlock-vulndb:osv@sha256:${'b'.repeat(64)}`, version: '2026.12.07-1' },
      ],
    );
    assert.deepEqual(p.metadata, {
      scanStartedOn: '2026-12-07T10:00:00.000Z',
      scanFinishedOn: '2026-12-07T10:00:01.500Z',
    });
    assert.deepEqual(vulnFindings(predicate), [
      { id: 'CVE-2026-10', severity: 'critical' },
      { id: 'GHSA-aaaa-bbbb-cccc', severity: 'medium' },
      { id: 'PYSEC-2026-1', severity: 'unknown' },
      // Unevaluable: written as Unknown, so admission counts it over any limit, as the gate does.
      { id: 'CVE-2026-11', severity: 'unknown' },
    ]);
    assert.deepEqual(overSeverity(predicate, 'high'), [
      'CVE-2026-10 (critical)',
      'PYSEC-2026-1 (severity unknown)',
      'CVE-2026-11 (severity unknown)',
    ]);
  });
});
