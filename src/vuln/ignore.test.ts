import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finding } from '../../test/helpers/osv.ts';
import { AirlockError } from '../errors.ts';
import { applyIgnores, expiryInstant, parseIgnoreFile } from './ignore.ts';

const YAML_FILE = `
ignore:
  - id: CVE-2026-1
    reason: not reachable
    expires: 2027-01-31
  - id: GHSA-xxxx
    package: { name: openssl, version: 3.0.11-1 }
    reason: vendor says not affected
    expires: 2026-06-30
`;

function malformedAt(content: string, pattern: RegExp): void {
  assert.throws(
    () => parseIgnoreFile(content, 'ignore.yaml'),
    (e: unknown) => e instanceof AirlockError && e.code === 'E_INPUT_MALFORMED' && pattern.test(e.message),
  );
}

describe('reviewed exceptions', () => {
  it('reads YAML, and JSON as a bare list', () => {
    const entries = parseIgnoreFile(YAML_FILE, 'ignore.yaml');
    assert.deepEqual(
      entries.map((e) => [e.id, e.package, e.expires, e.expiresAt.toISOString()]),
      [
        ['CVE-2026-1', undefined, '2027-01-31', '2027-02-01T00:00:00.000Z'],
        ['GHSA-xxxx', { name: 'openssl', version: '3.0.11-1' }, '2026-06-30', '2026-07-01T00:00:00.000Z'],
      ],
    );
    const json = JSON.stringify([{ id: 'CVE-1', reason: 'r', expires: '2027-01-01T12:00:00Z' }]);
    assert.equal(parseIgnoreFile(json, 'i.json')[0]?.expiresAt.toISOString(), '2027-01-01T12:00:00.000Z');
  });

  it('names the entry and field of a malformed file', () => {
    malformedAt('- id: CVE-1\n  expires: 2027-01-01\n', /ignore\[0\]\.reason: must be a non-empty string/);
    malformedAt('- id: CVE-1\n  reason: r\n', /ignore\[0\]\.expires/);
    malformedAt(
      '- {id: CVE-1, reason: r, expires: 2027-01-01}\n- {id: CVE-2, reason: r, expires: 2027-02-30}\n',
      /ignore\[1\]\.expires: '2027-02-30' is not a date/,
    );
    malformedAt('- {id: CVE-1, reason: r, expires: soon}\n', /ignore\[0\]\.expires/);
    malformedAt('- {id: CVE-1, reason: r, expires: 2027-01-01, expire: x}\n', /ignore\[0\]\.expire: is not a field/);
    malformedAt('- {id: CVE-1, reason: r, expires: 2027-01-01, package: {version: 1}}\n', /ignore\[0\]\.package\.name/);
    malformedAt('- {id: 7, reason: r, expires: 2027-01-01}\n', /ignore\[0\]\.id/);
    malformedAt('ignore: {id: CVE-1}\n', /must be a list/);
    malformedAt('- [unclosed\n', /not YAML or JSON/);
  });

  it('applies through the whole expiry day (UTC), and no longer after it', () => {
    const at = expiryInstant('2026-12-07');
    assert.equal(at?.toISOString(), '2026-12-08T00:00:00.000Z');
  });

  it('an entry matches the id or an alias, and the package name and version when it gives them', () => {
    const [byId, byPackage] = parseIgnoreFile(YAML_FILE, 'ignore.yaml');
    assert.ok(byId && byPackage);
    const now = new Date('2026-05-01T00:00:00Z');
    const cve = finding('CVE-2026-1');
    // (A finding without a CVE: one with a CVE is only covered by an entry naming that CVE.)
    const aliased = finding('PYSEC-2', { aliases: ['GHSA-xxxx'] });
    const otherVersion = finding('PYSEC-3', {
      aliases: ['GHSA-xxxx'],
      package: { ...finding('x').package, version: '3.0.12-1' },
    });
    const unrelated = finding('CVE-2026-4');
    const result = applyIgnores([cve, aliased, otherVersion, unrelated], [byId, byPackage], now);
    assert.deepEqual(
      result.ignored.map((i) => [i.finding.id, i.entry.id]),
      [
        ['CVE-2026-1', 'CVE-2026-1'],
        ['PYSEC-2', 'GHSA-xxxx'],
      ],
    );
    assert.deepEqual(
      result.kept.map((f) => f.id),
      ['PYSEC-3', 'CVE-2026-4'],
    );
    assert.deepEqual(result.expired, []);
  });

  it('an entry suppresses a finding only when it names every CVE of the finding', () => {
    const entry = (id: string) => parseIgnoreFile(`- {id: ${id}, reason: r, expires: 2027-01-01}`, 'i.yaml');
    const now = new Date('2026-05-01T00:00:00Z');
    const shared = finding('CVE-2026-2', { aliases: ['DSA-9999-1', 'DEBIAN-CVE-2026-2'] });
    // A shared non-CVE alias does not suppress a finding whose CVE the entry does not name.
    assert.deepEqual(applyIgnores([shared], entry('DSA-9999-1'), now).ignored, []);
    assert.equal(applyIgnores([shared], entry('CVE-2026-2'), now).ignored.length, 1);
    // A finding carrying two CVEs is covered by no single entry.
    const two = finding('CVE-2026-1', { aliases: ['CVE-2026-2'] });
    assert.deepEqual(applyIgnores([two], entry('CVE-2026-1'), now).ignored, []);
    // A finding without any CVE is still suppressed by its id or an alias.
    const noCve = finding('GHSA-zzzz', { aliases: ['PYSEC-1'] });
    assert.equal(applyIgnores([noCve], entry('PYSEC-1'), now).ignored.length, 1);
  });

  it('an expired entry no longer suppresses, and is reported as expired', () => {
    const entries = parseIgnoreFile(YAML_FILE, 'ignore.yaml');
    const f = finding('PYSEC-2', { aliases: ['GHSA-xxxx'] });
    const lastDay = applyIgnores([f], entries, new Date('2026-06-30T23:59:59Z'));
    assert.equal(lastDay.ignored.length, 1);
    const after = applyIgnores([f], entries, new Date('2026-07-01T00:00:00Z'));
    assert.deepEqual(after.ignored, []);
    assert.deepEqual(
      after.kept.map((k) => k.id),
      ['PYSEC-2'],
    );
    assert.deepEqual(
      after.expired.map((e) => e.id),
      ['GHSA-xxxx'],
    );
  });
});
