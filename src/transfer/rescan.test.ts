import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finding } from '../../test/helpers/osv.ts';
import type { Finding } from '../vuln/finding.ts';
import { evaluateGate, type GateOptions } from '../vuln/gate.ts';
import { applyIgnores } from '../vuln/ignore.ts';
import { scanReport, type ScanDatabase, type ScanReport } from '../vuln/report/report.ts';
import {
  diffImages,
  findingKey,
  newSince,
  nextRescanState,
  parseRescanState,
  RESCAN_STATE_FORMAT,
  rescanAuditDetails,
  rescanPrometheus,
  rescanReport,
  type RescanState,
} from './rescan.ts';

const DB: ScanDatabase = { name: 'default', version: 'v', built: '2026-12-01T00:00:00Z', contentHash: 'sha256:ab' };
const AT = new Date('2026-12-07T10:00:00Z');
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const GATE: GateOptions = { failOn: 'high', unknownSeverity: 'fail' };

function scan(name: string, digest: string, findings: Finding[], gate = GATE): ScanReport {
  return scanReport({
    subject: { name, digest },
    database: DB,
    scanner: { name: 'airlock', version: '0', uri: 'x' },
    startedAt: AT,
    finishedAt: AT,
    applied: applyIgnores(findings, [], AT),
    gate: { options: gate, result: evaluateGate(findings, gate) },
    notes: [],
  });
}

const low1 = finding('CVE-2026-1', { severity: 'low' });
const low2 = finding('CVE-2026-2', { severity: 'low' });
const crit = finding('CVE-2026-3', { severity: 'critical' });
const state = (images: Record<string, string[]>): RescanState => ({ format: RESCAN_STATE_FORMAT, at: 'then', images });

describe('rescan: the gate', () => {
  it('an image scan that could not evaluate something fails the rescan gate, naming it', () => {
    const item = { what: '3 rpm package(s) of rhel 9', why: 'no OSV ecosystem' };
    const report = {
      ...scan('app', D1, [low1]),
      notEvaluated: [item],
    };
    const r = rescanReport({
      at: AT,
      database: DB,
      images: diffImages([{ name: 'app', digest: D1, report }], undefined),
      notEvaluated: [],
      previous: undefined,
      gate: GATE,
    });
    assert.equal(r.gate.pass, false);
    assert.match(r.gate.failing.join('\n'), /app: not evaluated: 3 rpm package\(s\) of rhel 9/);
  });
});

describe('rescan: what is new', () => {
  it('keys a finding by id, package and version', () => {
    assert.equal(findingKey(low1), 'CVE-2026-1|openssl|3.0.11-1');
    const other = finding('CVE-2026-1', { package: { ...low1.package, version: '3.0.12-1' } });
    assert.notEqual(findingKey(other), findingKey(low1));
  });

  it('a digest never rescanned: every finding is new; one rescanned: only unseen keys', () => {
    assert.deepEqual(newSince(undefined, [low1, low2]), [low1, low2]);
    assert.deepEqual(newSince([], [low1]), [low1]);
    assert.deepEqual(newSince([findingKey(low1)], [low1, low2]), [low2]);
  });

  it('diffs per digest: the same finding on another image is new there', () => {
    const prev = state({ [D1]: [findingKey(low1)] });
    const images = diffImages(
      [
        { name: 'a', digest: D1, report: scan('a', D1, [low1, low2]) },
        { name: 'b', digest: D2, report: scan('b', D2, [low1]) },
      ],
      prev,
    );
    assert.deepEqual(
      images.map((i) => i.new.map((f) => f.id)),
      [['CVE-2026-2'], ['CVE-2026-1']],
    );
  });
});

describe('rescan: the gate across images', () => {
  it('fails on any image failing, and on any image not evaluated', () => {
    const ok = diffImages([{ name: 'a', digest: D1, report: scan('a', D1, [low1]) }], undefined);
    const pass = rescanReport({ at: AT, database: DB, images: ok, notEvaluated: [], previous: undefined, gate: GATE });
    assert.deepEqual([pass.gate.pass, pass.newFindings], [true, 1]);
    const notEvaluated = [{ name: 'b', digest: D2, reason: 'no SBOM kept' }];
    const r = rescanReport({ at: AT, database: DB, images: ok, notEvaluated, previous: undefined, gate: GATE });
    assert.equal(r.gate.pass, false);
    assert.match(r.gate.failing.join('\n'), /b: not evaluated \(no SBOM kept\)/);
    const bad = diffImages([{ name: 'c', digest: D1, report: scan('c', D1, [crit]) }], undefined);
    const f = rescanReport({ at: AT, database: DB, images: bad, notEvaluated: [], previous: undefined, gate: GATE });
    assert.deepEqual([f.gate.pass, f.gate.failing.length], [false, 1]);
    assert.match(f.gate.failing[0] ?? '', /^c: CVE-2026-3 \(critical\)/);
  });
});

describe('rescan: the state it leaves', () => {
  it('replaces evaluated images, keeps those not evaluated, and round-trips', () => {
    const prev = state({ [D1]: ['old|x|1'], [D2]: ['kept|y|2'] });
    const images = diffImages([{ name: 'a', digest: D1, report: scan('a', D1, [low2, low1, low1]) }], prev);
    const notEvaluated = [{ name: 'b', digest: D2, reason: 'gone' }];
    const report = rescanReport({ at: AT, database: DB, images, notEvaluated, previous: prev, gate: GATE });
    const next = nextRescanState(prev, report);
    assert.deepEqual(next.images, { [D1]: [findingKey(low1), findingKey(low2)], [D2]: ['kept|y|2'] });
    assert.equal(next.at, AT.toISOString());
    assert.deepEqual(parseRescanState(JSON.parse(JSON.stringify(next))), next);
    assert.equal(report.previousAt, 'then');
  });

  it('anything else than a rescan state is no previous rescan', () => {
    for (const doc of [
      undefined,
      null,
      3,
      {},
      { format: 'other', at: 'x', images: {} },
      { format: RESCAN_STATE_FORMAT },
    ])
      assert.equal(parseRescanState(doc), undefined);
    const odd = parseRescanState({ format: RESCAN_STATE_FORMAT, at: 'x', images: { [D1]: ['k', 3], [D2]: 'no' } });
    assert.deepEqual(odd?.images, { [D1]: ['k'] });
  });
});

describe('rescan: what it records and exports', () => {
  const images = diffImages(
    [{ name: 'reg/app:1', digest: D1, report: scan('reg/app:1', D1, [low1, crit]) }],
    undefined,
  );
  const notEvaluated = [{ name: 'reg/b:2', digest: D2, reason: 'no SBOM kept' }];
  const report = rescanReport({ at: AT, database: DB, images, notEvaluated, previous: undefined, gate: GATE });

  it('audit details: database, counts, new ids (bounded), the images not evaluated', () => {
    const d = rescanAuditDetails(report);
    assert.deepEqual(d.database, { name: 'default', built: DB.built, contentHash: DB.contentHash });
    assert.deepEqual([d.images, d.findings, d.newFindings], [1, 2, 2]);
    assert.deepEqual(d.newIds, ['CVE-2026-1 openssl@3.0.11-1', 'CVE-2026-3 openssl@3.0.11-1']);
    assert.deepEqual(d.gate, { pass: false, failing: 2 });
    const many = Array.from({ length: 150 }, (_, n) => finding(`CVE-2026-${1000 + n}`, { severity: 'low' }));
    const big = rescanReport({
      at: AT,
      database: DB,
      images: diffImages([{ name: 'a', digest: D1, report: scan('a', D1, many) }], undefined),
      notEvaluated: [],
      previous: undefined,
      gate: GATE,
    });
    const bd = rescanAuditDetails(big);
    assert.deepEqual([(bd.newIds as string[]).length, bd.newIdsLeftOut], [100, 50]);
  });

  it('the textfile: per image and severity, new counts, evaluated, the times', () => {
    const text = rescanPrometheus(report);
    const line = (prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));
    assert.equal(
      line(`airlock_rescan_findings{image="reg/app:1",digest="${D1}",severity="critical"}`)?.split(' ')[1],
      '1',
    );
    assert.equal(
      line(`airlock_rescan_new_findings{image="reg/app:1",digest="${D1}",severity="low"}`)?.split(' ')[1],
      '1',
    );
    assert.equal(line(`airlock_rescan_image_evaluated{image="reg/b:2",digest="${D2}"}`)?.split(' ')[1], '0');
    assert.equal(line('airlock_rescan_timestamp_seconds{}')?.split(' ')[1], String(AT.getTime() / 1000));
    assert.equal(
      line('airlock_rescan_vulndb_built_timestamp_seconds{name="default"}')?.split(' ')[1],
      String(Date.parse(DB.built) / 1000),
    );
    assert.equal(line('airlock_rescan_gate_pass{}')?.split(' ')[1], '0');
    assert.match(text, /^# HELP airlock_rescan_findings /m);
  });
});
