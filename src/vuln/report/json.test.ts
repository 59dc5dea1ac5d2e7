import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAMPLE_FINDINGS, sampleReport } from '../../../test/helpers/osv.ts';
import { renderJson } from './json.ts';

describe('renderJson', () => {
  it('carries notEvaluated and its count; the gate fails on it', () => {
    const item = { what: '2 deb package(s) of ecosystem Debian:99', why: 'no records' };
    const doc = JSON.parse(renderJson(sampleReport([], [item]))) as Record<string, unknown>;
    assert.deepEqual([doc.notEvaluated, doc.notEvaluatedCount], [[item], 1]);
    assert.equal((doc.gate as { pass: boolean }).pass, false);
  });

  it('one document whose findings carry id, aliases, package {name, version, ecosystem, purl}, severity', () => {
    const doc = JSON.parse(renderJson(sampleReport())) as { findings: Record<string, unknown>[]; ignored: unknown[] };
    assert.equal(doc.findings.length, 4);
    for (const f of doc.findings) {
      assert.equal(typeof f.id, 'string');
      assert.ok(Array.isArray(f.aliases));
      const p = f.package as Record<string, unknown>;
      for (const k of ['name', 'version', 'ecosystem', 'purl']) assert.equal(typeof p[k], 'string', k);
      assert.equal(typeof f.severity, 'string');
    }
    assert.deepEqual(doc.findings[0], {
      id: 'CVE-2026-10',
      aliases: ['DSA-5000-1', 'DEBIAN-CVE-2026-10'],
      package: SAMPLE_FINDINGS[0]?.package,
      severity: 'critical',
      severitySource: SAMPLE_FINDINGS[0]?.severitySource,
      cvssScore: 9.8,
      fixedVersions: ['3.0.11-1~deb12u2'],
      records: ['DEBIAN-CVE-2026-10', 'DSA-5000-1'],
      summary: 'openssl: a critical bug',
    });
    assert.equal(doc.ignored.length, 1);
  });
});
