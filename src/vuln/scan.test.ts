import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { affected, catalogued, memorySource, osvRecord } from '../../test/helpers/osv.ts';
import type { Catalogue, CataloguedPackage } from '../sbom/package.ts';
import { osvPackageName } from './osv/names.ts';
import { scanCatalogue } from './scan.ts';
import type { AdvisorySource } from './types.ts';

const DATABASE = { name: 'db', version: '1', built: '2026-12-07T00:00:00Z', contentHash: `sha256:${'b'.repeat(64)}` };
const NOW = () => new Date('2026-12-07T10:00:00Z');

const critical = osvRecord('CVE-9', {
  affected: [affected('npm', 'left-pad', { versions: ['1.0.0'] })],
  databaseSpecific: { severity: 'CRITICAL' },
});

function source(ecosystems?: string[]): AdvisorySource {
  const s = memorySource([critical], osvPackageName);
  return ecosystems ? { ...s, ecosystems: () => new Set(ecosystems) } : s;
}

function scan(catalogue: Partial<Catalogue> & { packages: CataloguedPackage[] }, ecosystems?: string[]) {
  return scanCatalogue({
    catalogue: { notes: [], ...catalogue },
    subjectName: 'img',
    source: source(ecosystems),
    database: DATABASE,
    ignores: [],
    gate: { failOn: 'critical', unknownSeverity: 'warn' },
    now: NOW,
  });
}

const rpm = (name: string) =>
  catalogued({ type: 'rpm', name, version: '1-1.el9', purl: `pkg:rpm/rhel/${name}@1-1.el9`, ecosystem: undefined });
const deb = (name: string, ecosystem: string) =>
  catalogued({ type: 'deb', name, version: '1-1', purl: `pkg:deb/ubuntu/${name}@1-1`, ecosystem });
const pad = catalogued({
  type: 'npm',
  name: 'left-pad',
  version: '2.0.0',
  purl: 'pkg:npm/left-pad@2.0.0',
  ecosystem: 'npm',
});

describe('scanCatalogue: what cannot be evaluated fails the gate', () => {
  it('packages without an OSV ecosystem: one item per (type, distro) with a count', () => {
    const r = scan({ packages: [rpm('bash'), rpm('glibc'), pad], distro: { id: 'rhel', versionId: '9', idLike: [] } });
    assert.equal(r.notEvaluated.length, 1);
    assert.match(r.notEvaluated[0]!.what, /2 rpm package\(s\) of rhel 9/);
    assert.match(r.notEvaluated[0]!.why, /no OSV ecosystem/);
    assert.equal(r.gate?.pass, false);
  });

  it('an ecosystem the database holds no records for is not evaluated (distro and language)', () => {
    const r = scan({ packages: [deb('openssl', 'Ubuntu:22.04'), pad] }, ['Ubuntu:22.04:LTS']);
    assert.deepEqual(
      r.notEvaluated.map((n) => n.what),
      ['1 deb package(s) of ecosystem Ubuntu:22.04', '1 npm package(s) of ecosystem npm'],
    );
    assert.equal(r.gate?.pass, false);
    const ok = scan({ packages: [deb('openssl', 'Ubuntu:22.04'), pad] }, ['Ubuntu:22.04', 'npm']);
    assert.deepEqual([ok.notEvaluated, ok.gate?.pass], [[], true]);
  });

  it("the catalogue's unread files and unidentified entries are each not evaluated", () => {
    const r = scan({ packages: [pad], unread: ['/var/lib/dpkg/status: over the size cap'], unidentified: ['x@1'] });
    assert.deepEqual(
      r.notEvaluated.map((n) => n.what),
      ['/var/lib/dpkg/status: over the size cap', 'x@1'],
    );
    assert.equal(r.gate?.pass, false);
  });
});
