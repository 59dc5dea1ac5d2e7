import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AirlockError } from '../../errors.ts';
import { parseOsvRecord } from './record.ts';

const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/osv-pypi/vulns/', import.meta.url));

const VALID = {
  schema_version: '1.7.0',
  id: 'GHSA-aaaa-bbbb-cccc',
  modified: '2024-05-01T10:00:00Z',
  published: '2024-04-01T10:00:00Z',
  aliases: ['CVE-2024-0001'],
  summary: 'A flaw',
  details: 'long text dropped',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  affected: [
    {
      package: { ecosystem: 'PyPI', name: 'Requests', purl: 'pkg:pypi/requests' },
      ranges: [
        { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.31.0' }] },
        { type: 'GIT', repo: 'https://example.org/r', events: [{ introduced: '0' }, { limit: 'abc' }] },
        { type: 'SOMETHING_NEW', events: [{ introduced: '1' }, { last_affected: '2' }] },
      ],
      versions: ['2.30.0'],
      database_specific: { source: 'x' },
    },
  ],
  database_specific: { severity: 'HIGH' },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutated freely to make negatives
const clone = (): Record<string, any> => structuredClone(VALID);

function malformed(json: unknown, field: RegExp): void {
  assert.throws(
    () => parseOsvRecord(json, 'records/x.json'),
    (err: unknown) =>
      err instanceof AirlockError &&
      err.code === 'E_INPUT_MALFORMED' &&
      err.message.startsWith('records/x.json: ') &&
      field.test(String(err.details?.field)),
  );
}

describe('parseOsvRecord', () => {
  it('reads what matching needs and keeps unknown range types', () => {
    const r = parseOsvRecord(VALID, 'x.json');
    assert.equal(r.id, 'GHSA-aaaa-bbbb-cccc');
    assert.deepEqual(r.aliases, ['CVE-2024-0001']);
    assert.deepEqual(r.upstream, []);
    assert.equal(r.affected[0]?.package.name, 'Requests');
    assert.deepEqual(
      r.affected[0]?.ranges.map((x) => x.type),
      ['ECOSYSTEM', 'GIT', 'SOMETHING_NEW'],
    );
    assert.deepEqual(r.affected[0]?.ranges[0]?.events, [{ introduced: '0' }, { fixed: '2.31.0' }]);
    assert.equal(r.severity[0]?.type, 'CVSS_V3');
    assert.deepEqual(r.databaseSpecific, { severity: 'HIGH' });
    assert.equal('details' in r, false);
  });

  it('refuses a malformed record naming the origin and the field', () => {
    malformed([], /the record/);
    const noId = clone();
    delete noId.id;
    malformed(noId, /^id$/);
    const badTime = clone();
    badTime.modified = 'yesterday';
    malformed(badTime, /^modified$/);
    const noPackage = clone();
    delete noPackage.affected[0].package;
    malformed(noPackage, /^affected\[0\]\.package$/);
    const noName = clone();
    noName.affected[0].package.name = '';
    malformed(noName, /^affected\[0\]\.package\.name$/);
    const twoKeys = clone();
    twoKeys.affected[0].ranges[0].events[1] = { fixed: '1', introduced: '0' };
    malformed(twoKeys, /^affected\[0\]\.ranges\[0\]\.events\[1\]$/);
    const unknownEvent = clone();
    unknownEvent.affected[0].ranges[0].events[0] = { started: '0' };
    malformed(unknownEvent, /events\[0\]$/);
    const numberVersion = clone();
    numberVersion.affected[0].versions = [1];
    malformed(numberVersion, /^affected\[0\]\.versions\[0\]$/);
    const badSeverity = clone();
    badSeverity.severity = [{ type: 'CVSS_V3' }];
    malformed(badSeverity, /^severity\[0\]\.score$/);
  });

  it('bounds strings and lists; cuts only the summary', () => {
    const longName = clone();
    longName.affected[0].package.name = 'a'.repeat(5000);
    malformed(longName, /package\.name$/);
    const manyAliases = clone();
    manyAliases.aliases = Array.from({ length: 1001 }, (_, i) => `CVE-${i}`);
    malformed(manyAliases, /^aliases$/);
    const longField = clone();
    longField.affected = Array.from({ length: 2 }, () => ({ package: 'x' }));
    malformed(longField, /^affected\[0\]\.package$/);
    const longSummary = clone();
    longSummary.summary = `line\n${'s'.repeat(5000)}`;
    const r = parseOsvRecord(longSummary, 'x.json');
    assert.ok((r.summary ?? '').length < 1100);
    assert.ok(!(r.summary ?? '').includes('\n'));
  });

  it('bounds the origin quoted in the message', () => {
    assert.throws(
      () => parseOsvRecord({}, `${'d/'.repeat(1000)}\u001b[31m.json`),
      (err: unknown) => err instanceof AirlockError && err.message.length < 700 && !err.message.includes('\u001b'),
    );
  });

  it('reads every real PyPI advisory (../shared/fixtures/osv-pypi)', async (t) => {
    if (!existsSync(FIXTURES)) return t.skip(`${FIXTURES} is absent: real OSV records not read`);
    let count = 0;
    let withdrawn = 0;
    let git = 0;
    for (const dir of await readdir(FIXTURES)) {
      for (const file of await readdir(join(FIXTURES, dir))) {
        const r = parseOsvRecord(JSON.parse(await readFile(join(FIXTURES, dir, file), 'utf8')), file);
        assert.equal(`${r.id}.json`, file);
        count++;
        if (r.withdrawn) withdrawn++;
        git += r.affected.flatMap((a) => a.ranges).filter((x) => x.type === 'GIT').length;
      }
    }
    assert.equal(count, 2661);
    assert.equal(withdrawn, 10);
    assert.equal(git, 1391);
  });
});
