import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { affected, catalogued, memorySource, numericOrder, osvRecord, semverOrder } from '../../test/helpers/osv.ts';
import type { CataloguedPackage } from '../sbom/package.ts';
import { AirlockError } from '../errors.ts';
import { lookupNames, matchPackages, noOrder } from './match.ts';
import { normalizePypiName, osvPackageName } from './osv/names.ts';
import type { OsvRecord, VersionCompare } from './types.ts';

const DEBIAN = 'Debian:12';
const orders = (eco: string): VersionCompare | undefined =>
  eco === 'PyPI' || eco === DEBIAN ? numericOrder : undefined;

function fixedBelow(ecosystem: string, name: string, fixed: string, more = {}) {
  return affected(ecosystem, name, {
    ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
    ...more,
  });
}

function scan(packages: CataloguedPackage[], records: OsvRecord[]) {
  return matchPackages(packages, memorySource(records, osvPackageName), orders, semverOrder);
}

const libssl = (version: string, source?: { name: string; version?: string }) =>
  catalogued({
    type: 'deb',
    name: 'libssl3',
    version,
    ecosystem: DEBIAN,
    purl: `pkg:deb/debian/libssl3@${version}`,
    foundIn: '/var/lib/dpkg/status',
    ...(source ? { source } : {}),
  });

describe('matchPackages', () => {
  it('matches a deb by its source package name, comparing the binary package own version', () => {
    const dsa = osvRecord('DSA-1', { affected: [fixedBelow(DEBIAN, 'openssl', '3.0.11.1')] });
    // The binary (a binNMU, 3.0.11.1) is past the fix although its source version (3.0.11) is not:
    // osv-scalibr compares the binary's version, and so do we.
    assert.deepEqual(scan([libssl('3.0.11.1', { name: 'openssl', version: '3.0.11' })], [dsa]).findings, []);
    const hit = scan([libssl('3.0.10', { name: 'openssl', version: '3.0.10' })], [dsa]).findings;
    assert.equal(hit.length, 1);
    assert.equal(hit[0]?.id, 'DSA-1');
    assert.equal(hit[0]?.package.name, 'libssl3');
    assert.deepEqual(hit[0]?.fixedVersions, ['3.0.11.1']);
  });

  it('falls back to the binary name when a distro package records no source', () => {
    const rec = osvRecord('DSA-2', { affected: [fixedBelow(DEBIAN, 'libssl3', '4')] });
    assert.equal(scan([libssl('3')], [rec]).findings.length, 1);
    assert.deepEqual(lookupNames(libssl('3', { name: 'openssl' }), DEBIAN), ['openssl']);
  });

  it('looks rpm packages up by their SRPM name and their own name, evaluating a record once', () => {
    const el = 'AlmaLinux:9';
    const rpm = catalogued({
      type: 'rpm',
      name: 'openssl-libs',
      version: '3',
      ecosystem: el,
      source: { name: 'openssl' },
    });
    assert.deepEqual(lookupNames(rpm, el), ['openssl', 'openssl-libs']);
    const bySource = osvRecord('ALSA-1', { affected: [fixedBelow(el, 'openssl', '4')] });
    const byBinary = osvRecord('ALSA-2', { affected: [fixedBelow(el, 'openssl-libs', '4')] });
    const both = osvRecord('ALSA-3', {
      affected: [fixedBelow(el, 'openssl', '4'), fixedBelow(el, 'openssl-libs', '4')],
    });
    const result = matchPackages([rpm], memorySource([bySource, byBinary, both]), () => numericOrder, semverOrder);
    assert.deepEqual(
      result.findings.map((f) => [f.id, f.recordIds]),
      [
        ['ALSA-1', ['ALSA-1']],
        ['ALSA-2', ['ALSA-2']],
        ['ALSA-3', ['ALSA-3']],
      ],
    );
  });

  it('looks PyPI packages up by their PEP 503 name', () => {
    assert.equal(normalizePypiName('Foo__Bar.-baz'), 'foo-bar-baz');
    const rec = osvRecord('PYSEC-1', { affected: [fixedBelow('PyPI', 'foo-bar-baz', '2')] });
    const found = scan([catalogued({ name: 'Foo_Bar.baz', version: '1.5' })], [rec]).findings;
    assert.deepEqual(
      found.map((f) => [f.id, f.package.name]),
      [['PYSEC-1', 'Foo_Bar.baz']],
    );
  });

  it('skips withdrawn records', () => {
    const live = osvRecord('PYSEC-1', { affected: [fixedBelow('PyPI', 'p', '2')] });
    const gone = osvRecord('PYSEC-2', { withdrawn: '2026-02-01T00:00:00Z', affected: [fixedBelow('PyPI', 'p', '2')] });
    assert.deepEqual(
      scan([catalogued({ name: 'p', version: '1' })], [live, gone]).findings.map((f) => f.id),
      ['PYSEC-1'],
    );
  });

  it('merges a DSA, a DEBIAN-CVE and a GHSA for one CVE into one finding named by the CVE', () => {
    const recs = [
      osvRecord('DSA-5000-1', { upstream: ['CVE-2026-1'], affected: [fixedBelow(DEBIAN, 'openssl', '5')] }),
      osvRecord('DEBIAN-CVE-2026-1', { upstream: ['CVE-2026-1'], affected: [fixedBelow(DEBIAN, 'openssl', '5')] }),
      osvRecord('GHSA-aaaa', { aliases: ['CVE-2026-1'], affected: [fixedBelow(DEBIAN, 'openssl', '4.5')] }),
      osvRecord('DSA-5001-1', { upstream: ['CVE-2026-2'], affected: [fixedBelow(DEBIAN, 'openssl', '5')] }),
    ];
    const found = scan([libssl('4', { name: 'openssl' })], recs).findings;
    assert.deepEqual(
      found.map((f) => [f.id, f.aliases, f.recordIds]),
      [
        [
          'CVE-2026-1',
          ['DEBIAN-CVE-2026-1', 'DSA-5000-1', 'GHSA-aaaa'],
          ['DEBIAN-CVE-2026-1', 'DSA-5000-1', 'GHSA-aaaa'],
        ],
        ['CVE-2026-2', ['DSA-5001-1'], ['DSA-5001-1']],
      ],
    );
    assert.deepEqual(found[0]?.fixedVersions, ['4.5', '5']);
  });

  it('a record naming several CVEs joins each CVE finding instead of folding them into one', () => {
    const recs = [
      osvRecord('DSA-6000-1', {
        upstream: ['CVE-2026-21', 'CVE-2026-20'],
        affected: [fixedBelow(DEBIAN, 'openssl', '5')],
      }),
      osvRecord('DEBIAN-CVE-2026-20', { upstream: ['CVE-2026-20'], affected: [fixedBelow(DEBIAN, 'openssl', '5')] }),
      osvRecord('DEBIAN-CVE-2026-21', { upstream: ['CVE-2026-21'], affected: [fixedBelow(DEBIAN, 'openssl', '3')] }),
    ];
    const found = scan([libssl('4', { name: 'openssl' })], recs).findings;
    assert.deepEqual(
      found.map((f) => [f.id, f.aliases, f.recordIds]),
      [
        ['CVE-2026-20', ['DEBIAN-CVE-2026-20', 'DSA-6000-1'], ['DEBIAN-CVE-2026-20', 'DSA-6000-1']],
        ['CVE-2026-21', ['DSA-6000-1'], ['DSA-6000-1']],
      ],
    );
  });

  it('two records of different CVEs naming one DSA give one finding per CVE', () => {
    const recs = [
      osvRecord('DEBIAN-CVE-2026-31', {
        upstream: ['CVE-2026-31', 'DSA-9999-1'],
        affected: [fixedBelow(DEBIAN, 'openssl', '5')],
      }),
      osvRecord('DEBIAN-CVE-2026-32', {
        upstream: ['CVE-2026-32', 'DSA-9999-1'],
        affected: [fixedBelow(DEBIAN, 'openssl', '5')],
      }),
    ];
    const found = scan([libssl('4', { name: 'openssl' })], recs).findings;
    assert.deepEqual(
      found.map((f) => [f.id, f.recordIds]),
      [
        ['CVE-2026-31', ['DEBIAN-CVE-2026-31']],
        ['CVE-2026-32', ['DEBIAN-CVE-2026-32']],
      ],
    );
  });

  it('merges aliases named in one direction only, and transitively through a record that did not match', () => {
    const recs = [
      osvRecord('PYSEC-9', { aliases: ['GHSA-b'], affected: [fixedBelow('PyPI', 'p', '2')] }),
      osvRecord('GHSA-b', { affected: [fixedBelow('PyPI', 'p', '2')] }),
      osvRecord('OSV-3', { aliases: ['X-1'], affected: [fixedBelow('PyPI', 'p', '2')] }),
      osvRecord('OSV-1', { aliases: ['X-1', 'X-2'], affected: [fixedBelow('PyPI', 'p', '0.5')] }),
      osvRecord('OSV-2', { aliases: ['X-2'], affected: [fixedBelow('PyPI', 'p', '2')] }),
    ];
    const found = scan([catalogued({ name: 'p', version: '1' })], recs).findings;
    assert.deepEqual(
      found.map((f) => [f.id, f.recordIds]),
      [
        ['GHSA-b', ['GHSA-b', 'PYSEC-9']],
        ['OSV-2', ['OSV-2', 'OSV-3']],
      ],
    );
    assert.deepEqual(found[1]?.aliases, ['OSV-3', 'X-1', 'X-2']);
  });

  it('evaluates every affected entry of the package and ignores entries of other packages', () => {
    const rec = osvRecord('PYSEC-5', {
      affected: [
        fixedBelow('PyPI', 'other', '9'),
        fixedBelow('PyPI', 'p', '1'),
        affected('PyPI', 'p', { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '3' }, { fixed: '3.2' }] }] }),
        fixedBelow('npm', 'p', '9'),
      ],
    });
    const at = (version: string) => scan([catalogued({ name: 'p', version })], [rec]).findings.length;
    assert.deepEqual([at('0.5'), at('2'), at('3.1'), at('4')], [1, 0, 1, 0]);
  });

  it('a version the order cannot read gives an unevaluable finding, with the reason', () => {
    const rec = osvRecord('PYSEC-7', { summary: 'bad\nthing', affected: [fixedBelow('PyPI', 'p', '2')] });
    const [f, ...rest] = scan([catalogued({ name: 'p', version: '1.0rc1' })], [rec]).findings;
    assert.equal(rest.length, 0);
    assert.equal(f?.id, 'PYSEC-7');
    assert.match(f?.unevaluable ?? '', /not a numeric version/);
    assert.equal(f?.summary, 'bad\\nthing');
  });

  it('an ecosystem with no order: a note; versions lists still match, ECOSYSTEM ranges are unevaluable', () => {
    const listed = osvRecord('GO-1', { affected: [affected('Go', 'm', { versions: ['1.0.0'] })] });
    const ranged = osvRecord('GO-2', { affected: [fixedBelow('Go', 'm', '2.0.0')] });
    const gomod = catalogued({ type: 'golang', name: 'm', version: 'v1.0.0', ecosystem: 'Go' });
    const result = scan([gomod], [listed, ranged]);
    assert.deepEqual(
      result.findings.map((f) => [f.id, f.unevaluable !== undefined]),
      [
        ['GO-1', false],
        ['GO-2', true],
      ],
    );
    assert.match(result.notes.join('\n'), /no version order for ecosystem 'Go' \(1 package/);
    assert.match(result.findings[1]?.unevaluable ?? '', /no version order for ecosystem 'Go'/);
    assert.throws(
      () => noOrder('Go')('1', '2'),
      (e: unknown) => e instanceof AirlockError && e.code === 'E_VERSION_INVALID',
    );
  });

  it('compares Go versions without their v (and the toolchain without its go), as OSV writes them', () => {
    const recs = [
      osvRecord('GO-2026-1', { affected: [affected('Go', 'example.com/m', { versions: ['1.0.0'] })] }),
      osvRecord('GO-2026-2', {
        affected: [
          affected('Go', 'stdlib', {
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.22.2' }] }],
          }),
        ],
      }),
    ];
    const go = (name: string, version: string) => catalogued({ type: 'golang', name, version, ecosystem: 'Go' });
    const result = matchPackages(
      [go('example.com/m', 'v1.0.0'), go('stdlib', 'go1.22.1'), go('example.com/m', 'v1.0.1')],
      memorySource(recs),
      () => semverOrder,
      semverOrder,
    );
    assert.deepEqual(
      result.findings.map((f) => [f.id, f.package.version, f.unevaluable]),
      [
        ['GO-2026-1', 'v1.0.0', undefined],
        ['GO-2026-2', 'go1.22.1', undefined],
      ],
    );
  });

  it('a package with no ecosystem is not matched, and is returned as such (not evaluated)', () => {
    const noEco = { ...catalogued({ name: 'p', version: '1' }), ecosystem: undefined };
    const result = scan([noEco], [osvRecord('PYSEC-1', { affected: [fixedBelow('PyPI', 'p', '2')] })]);
    assert.deepEqual(result.findings, []);
    assert.deepEqual(result.noEcosystem, [noEco]);
  });

  it('rates a merged finding by the highest severity of its records', () => {
    const recs = [
      osvRecord('DSA-1', { upstream: ['CVE-2026-5'], affected: [fixedBelow(DEBIAN, 'openssl', '5')] }),
      osvRecord('GHSA-c', {
        aliases: ['CVE-2026-5'],
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
        affected: [fixedBelow(DEBIAN, 'openssl', '5')],
      }),
    ];
    const [f] = scan([libssl('4', { name: 'openssl' })], recs).findings;
    assert.equal(f?.severity, 'critical');
    assert.equal(f?.score, 9.8);
    assert.match(f?.severitySource ?? '', /^GHSA-c: CVSS_V3 CVSS:3\.1\//);
  });
});
