import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { finding } from '../../../test/helpers/osv.ts';
import { overSeverity, vulnFindings } from '../../admission/vuln-predicate.ts';
import type { Finding } from '../finding.ts';
import { evaluateGate } from '../gate.ts';
import { applyIgnores, parseIgnoreFile } from '../ignore.ts';
import { COSIGN_VULN_PREDICATE_TYPE, cosignVulnPredicate } from './cosign-vuln.ts';
import { renderJson } from './json.ts';
import { type ScanReport, scanReport } from './report.ts';
import { imagePathUri, renderSarif } from './sarif.ts';
import { renderTable } from './table.ts';

const pypi = (name: string, version: string) => ({
  name,
  version,
  ecosystem: 'PyPI',
  purl: `pkg:pypi/${name}@${version}`,
  type: 'pypi' as const,
  foundIn: `/usr/lib/python3/dist-packages/${name}-${version}.dist-info/METADATA`,
});

const FINDINGS: Finding[] = [
  finding('CVE-2026-10', {
    aliases: ['DSA-5000-1', 'DEBIAN-CVE-2026-10'],
    recordIds: ['DEBIAN-CVE-2026-10', 'DSA-5000-1'],
    severity: 'critical',
    score: 9.8,
    severitySource: 'GHSA-x: CVSS_V3 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H (9.8)',
    fixedVersions: ['3.0.11-1~deb12u2'],
    summary: 'openssl: a critical bug',
  }),
  finding('GHSA-aaaa-bbbb-cccc', { package: pypi('jinja2', '3.1.2'), severity: 'medium', fixedVersions: ['3.1.3'] }),
  finding('PYSEC-2026-1', { package: pypi('urllib3', '1.26.5'), severity: 'unknown' }),
  finding('CVE-2026-11', { package: pypi('weird pkg', '1.0#x'), severity: 'low', unevaluable: "'1.0#x' unreadable" }),
  finding('CVE-2026-12', { severity: 'high' }),
];

const EXCEPTIONS = `
- { id: CVE-2026-12, reason: "not reachable", expires: 2027-01-31 }
- { id: GHSA-old, reason: "was reviewed", expires: 2026-01-31 }
`;

function report(findings: readonly Finding[] = FINDINGS): ScanReport {
  const now = new Date('2026-12-07T10:00:00Z');
  const applied = applyIgnores(findings, parseIgnoreFile(EXCEPTIONS, 'ignore.yaml'), now);
  const options = { failOn: 'critical', unknownSeverity: 'fail' } as const;
  return scanReport({
    subject: { name: 'registry.example/app:1', digest: `sha256:${'a'.repeat(64)}` },
    database: {
      name: 'osv',
      version: '2026.12.07-1',
      built: '2026-12-07T00:00:00Z',
      contentHash: `sha256:${'b'.repeat(64)}`,
    },
    scanner: { name: 'airlock', version: '0.1.0', uri: 'https://example.invalid/airlock' },
    startedAt: now,
    finishedAt: new Date(now.getTime() + 1500),
    applied,
    gate: { options, result: evaluateGate(applied.kept, options) },
    notes: ['rpm BerkeleyDB not read'],
  });
}

/** The parts of a SARIF log the assertions read. */
interface SarifLog {
  runs: Array<{
    tool: { driver: { rules: Array<{ id: string; properties: Record<string, string> }> } };
    results: Array<{
      ruleId: string;
      ruleIndex: number;
      level: string;
      suppressions?: unknown;
      locations: Array<{
        physicalLocation: { artifactLocation: { uri: string } };
        logicalLocations: Array<{ fullyQualifiedName: string }>;
      }>;
    }>;
  }>;
}

describe('scan report', () => {
  it('counts per severity after exceptions, with unknown and unevaluable counts and the gate', () => {
    const r = report();
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

  it('json: one document whose findings carry id, aliases, package {name, version, ecosystem, purl}, severity', () => {
    const doc = JSON.parse(renderJson(report())) as { findings: Record<string, unknown>[]; ignored: unknown[] };
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
      package: FINDINGS[0]?.package,
      severity: 'critical',
      severitySource: FINDINGS[0]?.severitySource,
      cvssScore: 9.8,
      fixedVersions: ['3.0.11-1~deb12u2'],
      records: ['DEBIAN-CVE-2026-10', 'DSA-5000-1'],
      summary: 'openssl: a critical bug',
    });
    assert.equal(doc.ignored.length, 1);
  });

  it('table: grype columns, most severe first, then the summary line, expired exceptions and notes', () => {
    const lines = renderTable(report()).split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+INSTALLED\s+FIXED-IN\s+TYPE\s+VULNERABILITY\s+SEVERITY$/);
    assert.deepEqual(
      lines.slice(1, 5).map((l) => l.split(/\s{2,}/)),
      [
        ['urllib3', '1.26.5', 'python', 'PYSEC-2026-1', 'Unknown'],
        ['openssl', '3.0.11-1', '3.0.11-1~deb12u2', 'deb', 'CVE-2026-10', 'Critical'],
        ['jinja2', '3.1.2', '3.1.3', 'python', 'GHSA-aaaa-bbbb-cccc', 'Medium'],
        ['weird pkg', '1.0#x', 'python', 'CVE-2026-11', 'Low (unevaluable)'],
      ],
    );
    const text = lines.join('\n');
    assert.ok(
      text.includes(
        '4 finding(s): 1 critical, 0 high, 1 medium, 1 low, 0 negligible, 1 unknown; 1 unevaluable; ' +
          '1 ignored by reviewed exceptions; 1 expired exception(s); ' +
          'gate FAILED (3) (fail on critical, unknown severity fails)',
      ),
      text,
    );
    assert.match(text, /expired exception \(no longer applies\): GHSA-old — expired 2026-01-31: was reviewed/);
    assert.match(text, /note: rpm BerkeleyDB not read/);
    assert.match(renderTable(report([])), /^No vulnerabilities found\n\n0 finding\(s\)/);
  });

  it('sarif: valid against the official SARIF 2.1.0 schema; a rule per id, a result per finding', async () => {
    const schemaText = await readFile(
      new URL('../../../test/fixtures/sarif/sarif-schema-2.1.0.json', import.meta.url),
      'utf8',
    );
    // The schema is draft-04 (`id`); Ajv 8 reads draft-07, where that keyword is `$id`. Nothing else differs
    // for this schema (it uses no draft-04-only keyword).
    const { id, $schema: _, ...rest } = JSON.parse(schemaText) as { id: string; $schema: string };
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile({ ...rest, $id: id });
    const twice = [...FINDINGS, finding('CVE-2026-10', { package: pypi('other', '1'), severity: 'critical' })];
    const log = JSON.parse(renderSarif(report(twice))) as SarifLog;
    assert.ok(validate(log), JSON.stringify(validate.errors?.slice(0, 3)));
    const run = log.runs[0];
    assert.ok(run);
    assert.deepEqual(
      run.tool.driver.rules.map((r) => r.id),
      ['CVE-2026-10', 'GHSA-aaaa-bbbb-cccc', 'PYSEC-2026-1', 'CVE-2026-11', 'CVE-2026-12'],
    );
    assert.deepEqual(
      run.results.map((r) => [r.ruleId, r.ruleIndex, r.level]),
      [
        ['CVE-2026-10', 0, 'error'],
        ['GHSA-aaaa-bbbb-cccc', 1, 'warning'],
        ['PYSEC-2026-1', 2, 'warning'],
        ['CVE-2026-11', 3, 'error'],
        ['CVE-2026-10', 0, 'error'],
        ['CVE-2026-12', 4, 'error'],
      ],
    );
    assert.deepEqual(run.results[5]?.suppressions, [
      { kind: 'external', status: 'accepted', justification: 'not reachable (reviewed exception, expires 2027-01-31)' },
    ]);
    assert.equal(run.tool.driver.rules[0]?.properties['security-severity'], '9.8');
    assert.deepEqual(run.results[0]?.locations[0]?.physicalLocation.artifactLocation, { uri: 'var/lib/dpkg/status' });
    assert.equal(run.results[0]?.locations[0]?.logicalLocations[0]?.fullyQualifiedName, FINDINGS[0]?.package.purl);
    // A broken log fails the schema, so the check above can fail.
    assert.equal(validate({ ...log, runs: [{ ...run, results: [{ ...run.results[0], level: 'fatal' }] }] }), false);
  });

  it('sarif: a path in the image becomes a relative URI reference', () => {
    assert.equal(imagePathUri('/usr/lib/a b/x#1?.json'), 'usr/lib/a%20b/x%231%3F.json');
  });

  it("cosign-vuln: the predicate's shape, and airlock's admission reader reads what it writes", () => {
    const predicate = cosignVulnPredicate(report(), { uri: 'https://ci.example/run/7', builderId: 'ci' });
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
