// `airlock scan SBOM --db DB`: what the scan cannot evaluate fails the gate (exit 1, E_GATE naming it),
// whatever --fail-on and --unknown-severity say — never a pass with a note.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { buildVulnDb } from '../../src/vuln/db/build.ts';
import { runCli } from '../helpers/cli.ts';
import { osvRecord, testKey, writeRecords } from '../helpers/osv-records.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const sbom = (os: [string, string], purl: string) =>
  JSON.stringify({
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    components: [
      { type: 'operating-system', name: os[0], version: os[1] },
      { type: 'library', name: 'openssl', version: '1.0', purl },
    ],
  });

describe('airlock scan: not evaluated fails the gate', () => {
  const dir = useTempDir('scan-not-evaluated-');
  const db = () => join(dir, 'v.db');

  before(async () => {
    await writeRecords(join(dir, 'osv'), [
      osvRecord('DEB-1', [['Debian:12', 'openssl']]),
      osvRecord('NPM-1', [['npm', 'left-pad']]),
    ]);
    await buildVulnDb({ sources: [join(dir, 'osv')], out: db(), signer: testKey().signer, now: new Date() });
  });

  const cases: Array<[string, string, RegExp]> = [
    ['rhel', sbom(['rhel', '9.4'], 'pkg:rpm/redhat/openssl@1.0?distro=rhel-9.4'), /1 rpm package\(s\) of rhel 9\.4/],
    ['debian-99', sbom(['debian', '99'], 'pkg:deb/debian/openssl@1.0?distro=debian-99'), /ecosystem Debian:99/],
  ];
  for (const [name, doc, what] of cases)
    it(`${name}: exit 1, E_GATE naming it, notEvaluated in the JSON`, async () => {
      const file = join(dir, `${name}.cdx.json`);
      await writeFile(file, doc);
      const args = ['scan', file, '--db', db(), '--fail-on', 'critical', '--unknown-severity', 'warn'];
      const r = await runCli(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /1 item\(s\) not evaluated and 0 finding\(s\) fail the gate/);
      assert.match(r.stderr, /E_GATE/);
      assert.match(r.stderr, what);
      const json = await runCli([...args, '--json']);
      const report = JSON.parse(json.stdout) as { notEvaluated: Array<{ what: string }>; gate: { pass: boolean } };
      assert.equal(json.code, 1);
      assert.equal(report.gate.pass, false);
      assert.match(report.notEvaluated.map((n) => n.what).join('\n'), what);
    });

  it('writes no report file when the audit trail cannot record the scan', async () => {
    const home = join(dir, 'broken-home');
    await mkdir(home);
    await writeFile(join(home, 'audit'), 'a file where the audit folder goes');
    const file = join(dir, 'debian-12.cdx.json');
    await writeFile(file, sbom(['debian', '12'], 'pkg:deb/debian/openssl@1.0?distro=debian-12'));
    const report = join(dir, 'unrecorded-report.json');
    const r = await runCli(['scan', file, '--db', db(), '--output-file', report], { env: { AIRLOCK_HOME: home } });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /audit/);
    assert.equal(existsSync(report), false, 'a report was written that no audit event records');
  });
});
