import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleReport } from '../../../test/helpers/osv.ts';
import { renderTable } from './table.ts';

describe('renderTable', () => {
  it('grype columns, most severe first, then the summary line, expired exceptions and notes', () => {
    const lines = renderTable(sampleReport()).split('\n');
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
        '4 finding(s): 1 critical, 0 high, 1 medium, 1 low, 0 negligible, 1 unknown; 1 unevaluable; 0 not evaluated; ' +
          '1 ignored by reviewed exceptions; 1 expired exception(s); ' +
          'gate FAILED (3) (fail on critical, unknown severity fails)',
      ),
      text,
    );
    assert.match(text, /expired exception \(no longer applies\): GHSA-old — expired 2026-01-31: was reviewed/);
    assert.match(text, /note: rpm BerkeleyDB not read/);
    assert.match(renderTable(sampleReport([])), /^No vulnerabilities found\n\n0 finding\(s\)/);
  });

  it('what was not evaluated is counted, listed, and fails the gate even with no finding', () => {
    const text = renderTable(sampleReport([], [{ what: '3 rpm package(s) of rhel 9', why: 'no OSV ecosystem' }]));
    assert.match(text, /^No vulnerabilities found in what was evaluated\n/);
    assert.match(text, /1 not evaluated; .*gate FAILED \(1\)/);
    assert.match(text, /NOT EVALUATED \(fails the gate\): 3 rpm package\(s\) of rhel 9: no OSV ecosystem/);
  });
});
