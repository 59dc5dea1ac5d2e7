// The CLI as a user runs it: a real process through bin/airlock.js.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCliProcess } from '../helpers/cli.ts';

describe('airlock (process)', () => {
  it('--version', async () => {
    const r = await runCliProcess(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^airlock \d+\.\d+\.\d+\n$/);
  });

  it('nosuchcommand exits 2 with one line and a hint', async () => {
    const r = await runCliProcess(['nosuchcommand']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 2);
  });

  it('doctor --json is valid JSON on stdout', async () => {
    const r = await runCliProcess(['doctor', '--json'], { env: { AIRLOCK_HOME: '/tmp/airlock-e2e-home' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
  });

  it(
    'demo runs the whole workflow: sign, pack, approve, on-prem log, inspect (two signers), ' +
      'import, admission, verify against the log, keyless signing by its own CA pinned to the identity, ' +
      'refuses an unaccepted channel, another identity and a tampered package, and runs the log on its own ' +
      'PostgreSQL (migrated there): a standby takes over from a killed sequencer',
    async () => {
      const r = await runCliProcess(['demo', '--json'], { env: { AIRLOCK_HOME: '/tmp/airlock-e2e-home' } });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.deepEqual(
        doc.steps.map((s: { name: string; ok: boolean }) => s.name),
        [
          'doctor',
          'key generate',
          'sign',
          'sbom',
          'vulndb build',
          'scan',
          'pack',
          'approve',
          'log serve',
          'two-person rule',
          'inspect',
          'import',
          'rescan',
          'unaccepted channel refused',
          'admission: signed image admitted',
          'admission: unsigned image denied',
          'admission: warn mode admits with a warning',
          'verify',
          'log info',
          'keyless sign',
          'keyless verify',
          'other identity refused',
          'record',
          'tampered package refused',
          'log migrate',
          'log standby',
          'log failover',
        ],
      );
      assert.ok(doc.steps.every((s: { ok: boolean }) => s.ok));
      // The service account's token is a bearer credential: narrated, never printed.
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /eyJ[\w-]+\.eyJ[\w-]+\./);
    },
  );
});
