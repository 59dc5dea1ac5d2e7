import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { finding, pypiPackage, SAMPLE_FINDINGS, sampleReport } from '../../../test/helpers/osv.ts';
import { imagePathUri, renderSarif } from './sarif.ts';

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

describe('renderSarif', () => {
  it('valid against the official SARIF 2.1.0 schema; a rule per id, a result per finding', async () => {
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
    const twice = [
      ...SAMPLE_FINDINGS,
      finding('CVE-2026-10', { package: pypiPackage('other', '1'), severity: 'critical' }),
    ];
    const log = JSON.parse(renderSarif(sampleReport(twice))) as SarifLog;
    assert.ok(validate(log), JSON.stringify(validate.errors?.slice(0, 3)));
    const notEvaluated = [{ what: '/var/lib/dpkg/status', why: 'over the size cap' }];
    const failed = JSON.parse(renderSarif(sampleReport(twice, notEvaluated))) as {
      runs: Array<{ invocations: Array<{ executionSuccessful: boolean; toolExecutionNotifications: unknown[] }> }>;
    };
    assert.ok(validate(failed), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.deepEqual(failed.runs[0]?.invocations, [
      {
        executionSuccessful: false,
        toolExecutionNotifications: [
          {
            level: 'error',
            message: { text: 'not evaluated (fails the gate): /var/lib/dpkg/status: over the size cap' },
          },
        ],
      },
    ]);
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
    assert.equal(
      run.results[0]?.locations[0]?.logicalLocations[0]?.fullyQualifiedName,
      SAMPLE_FINDINGS[0]?.package.purl,
    );
    // A broken log fails the schema, so the check above can fail.
    assert.equal(validate({ ...log, runs: [{ ...run, results: [{ ...run.results[0], level: 'fatal' }] }] }), false);
  });

  it('a path in the image becomes a relative URI reference', () => {
    assert.equal(imagePathUri('/usr/lib/a b/x#1?.json'), 'usr/lib/a%20b/x%231%3F.json');
  });
});
