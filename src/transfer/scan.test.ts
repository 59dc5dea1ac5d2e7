import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeFinding,
  enforceGate,
  gateFindings,
  matchSubject,
  summariseAirlockScan,
  summariseGrypeScan,
  summariseScan,
  summariseSbom,
  UNKNOWN_SEVERITY,
} from './scan.ts';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

// Shapes as syft and grype write them (root package DESCRIBED by the document, metadata.component, source.target).
const spdx = (root: Record<string, unknown>) => ({
  spdxVersion: 'SPDX-2.3',
  packages: [
    { SPDXID: 'SPDXRef-DocumentRoot-Image-app', name: 'app', ...root },
    { SPDXID: 'SPDXRef-Package-x', name: 'x', versionInfo: B },
  ],
  relationships: [
    {
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-DocumentRoot-Image-app',
    },
  ],
});

describe('what an SBOM or scan says it is about', () => {
  it('SPDX: the described root package (versionInfo, pkg:oci purl); other packages never count', () => {
    assert.deepEqual(summariseSbom(spdx({ versionInfo: A.toUpperCase().replace('SHA256', 'sha256') }), 's').subjects, [
      A,
    ]);
    assert.deepEqual(
      summariseSbom(
        spdx({
          versionInfo: 'latest',
          externalRefs: [
            { referenceType: 'purl', referenceLocator: `pkg:oci/app@sha256%3A${'a'.repeat(64)}?tag=latest` },
          ],
        }),
        's',
      ).subjects,
      [A],
    );
    assert.deepEqual(
      summariseSbom(spdx({ versionInfo: '1.0' }), 's').subjects,
      [],
      'a package digest elsewhere in the document is not its subject',
    );
    assert.deepEqual(
      summariseSbom(
        { spdxVersion: 'SPDX-2.3', documentDescribes: ['r'], packages: [{ SPDXID: 'r', versionInfo: C }] },
        's',
      ).subjects,
      [C],
    );
  });
  it('CycloneDX: metadata.component', () => {
    assert.deepEqual(
      summariseSbom(
        {
          bomFormat: 'CycloneDX',
          metadata: { component: { type: 'container', name: 'app', version: A } },
          components: [{}, {}],
        },
        's',
      ),
      { format: 'cyclonedx', predicateType: 'https://cyclonedx.org/bom', packages: 2, subjects: [A] },
    );
    assert.deepEqual(summariseSbom({ bomFormat: 'CycloneDX', components: [] }, 's').subjects, []);
  });
  it('grype: an image source names its manifest, config and repo digests; a directory scan names none', () => {
    const scan = summariseGrypeScan(
      { matches: [], source: { type: 'image', target: { manifestDigest: A, imageID: B, repoDigests: [`app@${C}`] } } },
      's',
    );
    assert.deepEqual(scan.subjects, [A, B, C]);
    assert.deepEqual(
      summariseGrypeScan({ matches: [], source: { type: 'directory', target: '/src' } }, 's').subjects,
      [],
    );
  });
  it('matchSubject: a match, "names none", or E_ARTIFACT_MISMATCH showing both sides', () => {
    assert.deepEqual(matchSubject([C, A], new Set([A, B]), 'the SBOM', 'app'), { matched: A });
    assert.deepEqual(matchSubject([], new Set([A]), 'the SBOM', 'app'), { recorded: false });
    assert.throws(
      () => matchSubject([C], new Set([A]), 'the SBOM sbom.json', 'oci:app'),
      (err: Error & { code?: string }) =>
        err.code === 'E_ARTIFACT_MISMATCH' &&
        err.message.includes(C) &&
        err.message.includes(A) &&
        err.message.includes('oci:app'),
    );
  });
});

describe('the gate', () => {
  const scan = summariseGrypeScan(
    {
      matches: [
        { vulnerability: { id: 'CVE-1', severity: 'Low' }, artifact: { name: 'a', version: '1' } },
        { vulnerability: { id: 'CVE-2', severity: 'Unknown' }, artifact: { name: 'b', version: '2' } },
        { vulnerability: { id: 'CVE-3' }, artifact: { name: 'c', version: '3' } },
        { vulnerability: { id: 'CVE-4', severity: 'Critical' }, artifact: { name: 'd', version: '4' } },
      ],
    },
    's',
  );
  it('unknown severities fail any gate, and say so: never "at or above"', () => {
    assert.deepEqual(
      gateFindings(scan, 'critical').map((f) => f.id),
      ['CVE-2', 'CVE-3', 'CVE-4'],
    );
    assert.equal(describeFinding(scan.findings[1]!), `CVE-2 (${UNKNOWN_SEVERITY}) in b@2`);
    const onlyUnknown = gateFindings(scan, 'critical')
      .filter((f) => f.severity === 'unknown')
      .map((finding) => ({ image: 'app', finding }));
    assert.throws(
      () => enforceGate(onlyUnknown, 'critical', 'refusing to pack'),
      (err: Error & { code?: string }) =>
        err.code === 'E_GATE' &&
        /of unknown severity \(severity unknown: cannot evaluate, counted as failing\)/.test(err.message) &&
        !/at or above/.test(err.message),
    );
  });
  it("an airlock report's not-evaluated items and unevaluable findings fail even with --unknown-severity warn", () => {
    const doc = {
      findings: [
        { id: 'CVE-5', severity: 'low', unevaluable: 'bad version', package: { name: 'e', version: '5' } },
        { id: 'CVE-6', severity: 'low', package: { name: 'f', version: '6' } },
      ],
      notEvaluated: [{ what: '3 rpm package(s) of rhel 9', why: 'no OSV ecosystem' }],
    };
    const failing = gateFindings(summariseAirlockScan(doc, 's'), 'critical', 'warn');
    assert.deepEqual(
      failing.map((f) => `${f.id} ${f.package}`),
      ['CVE-5 e@5', 'not evaluated 3 rpm package(s) of rhel 9'],
    );
    assert.throws(
      () =>
        enforceGate(
          failing.map((finding) => ({ image: 'app', finding })),
          'critical',
          'x',
        ),
      (err: Error) => /not evaluated/.test(err.message),
    );
  });
  it('a long list of findings is bounded in the message, with the total', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({
      image: 'app',
      finding: { id: `CVE-${i}`, severity: 'critical' as const, package: 'p@1' },
    }));
    assert.throws(
      () => enforceGate(many, 'high', 'x'),
      (err: Error & { details?: { total?: number } }) =>
        /…and 480 more \(500 in all\)/.test(err.message) && err.details?.total === 500,
    );
  });
});

describe('what an airlock scan report could not evaluate', () => {
  const report = (more: Record<string, unknown> = {}) =>
    summariseScan(
      {
        format: 'airlock.dev/scan-report/v1',
        findings: [
          { id: 'CVE-1', severity: 'low', package: { name: 'a', version: '1' } },
          { id: 'CVE-2', severity: 'unknown', package: { name: 'b', version: '2' } },
          {
            id: 'GHSA-u',
            severity: 'critical',
            unevaluable: 'version x unreadable',
            package: { name: 'c', version: 'x' },
          },
        ],
        ...more,
      },
      'r.json',
    );
  it('an unevaluable finding fails every gate, with or without a threshold and whatever unknown severity says', () => {
    const scan = report();
    assert.deepEqual(
      gateFindings(scan, 'critical', 'warn').map((f) => f.id),
      ['GHSA-u'],
    );
    assert.deepEqual(
      gateFindings(scan, undefined, 'warn').map((f) => f.id),
      ['GHSA-u'],
    );
    assert.deepEqual(
      gateFindings(scan, undefined).map((f) => f.id),
      ['GHSA-u'],
    );
    assert.match(describeFinding(scan.findings[2]!), /GHSA-u \(unevaluable: version x unreadable\) in c@x/);
    const failing = gateFindings(scan, undefined, 'warn').map((finding) => ({ image: 'app', finding }));
    assert.throws(
      () => enforceGate(failing, undefined, 'refusing to pack'),
      (err: Error & { code?: string }) => err.code === 'E_GATE' && /unevaluable/.test(err.message),
    );
  });
  it('each item of notEvaluated fails the gate as an unevaluable finding; counts stay the findings', () => {
    const scan = report({
      notEvaluated: [
        { what: 'pkg:npm/left-pad@%%', why: 'unreadable version' },
        { what: '/usr/lib/x.jar', why: 'too large' },
      ],
    });
    assert.deepEqual(scan.counts, { low: 1, unknown: 2 });
    const failing = gateFindings(scan, undefined, 'warn');
    assert.equal(failing.length, 3);
    assert.ok(
      failing.some((f) => /left-pad/.test(describeFinding(f)) && /unreadable version/.test(describeFinding(f))),
    );
    // A notEvaluated that is not a list of items is not a report airlock can judge.
    assert.throws(
      () => report({ notEvaluated: 'everything' }),
      (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED',
    );
  });
});

describe('a grype report that is not one', () => {
  it('a match that is not an object is malformed input, never a crash', () => {
    for (const matches of [[null], [1], ['x']])
      assert.throws(
        () => summariseGrypeScan({ matches }, 'r'),
        (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED',
      );
  });
});
