// The audit trail in PostgreSQL as operators meet it: two stations (two AIRLOCK_HOMEs) with
// AIRLOCK_AUDIT_URL, the password in a PGPASSFILE and the trail's key in AIRLOCK_AUDIT_KEY, record into
// one trail at once; a third machine with no key verifies, exports and shows it. Then the same commands
// killed (SIGKILL) at random moments, again and again: every command that exited 0 has its event in the
// trail, the trail verifies after the kills, and the next command records again (no E_LOG_ROLLBACK).
//
// The kill moments come from a seeded PRNG; the seed is printed, and AIRLOCK_CRASH_SEED=<seed> replays it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { AIRLOCK_BIN, runCliProcess } from '../helpers/cli.ts';
import { postgresAvailable, usePostgres } from '../helpers/postgres.ts';
import { seededRandom, testSeed } from '../helpers/seeded-random.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const missing = postgresAvailable();
const SEED = testSeed('AIRLOCK_CRASH_SEED');
const KILL_ROUNDS = 8;

interface Exported {
  index: number;
  origin: string;
  action: string;
  result: string;
  host: string;
  subjects: Array<{ name: string }>;
}

describe('the audit trail in PostgreSQL (AIRLOCK_AUDIT_URL)', { skip: missing }, () => {
  const server = usePostgres();
  const dir = useTempDir('airlock-audit-pg-');
  const p = (name: string) => join(dir, name);
  let env: (home: string, extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;

  before(async () => {
    await writeFile(p('pgpass'), `127.0.0.1:${server.port}:airlock:airlock:${server.password}\n`, { mode: 0o600 });
    // The trail's key, made by airlock on a machine of its own (its own sqlite trail records that).
    const made = await runCliProcess(['key', 'generate', '--output-key-prefix', p('audit')], {
      env: { AIRLOCK_HOME: p('key-maker'), AIRLOCK_PASSWORD: 'pw' },
    });
    assert.equal(made.code, 0, made.stderr);
    env = (home, extra = {}) => ({
      AIRLOCK_HOME: p(home),
      AIRLOCK_PASSWORD: 'pw',
      AIRLOCK_AUDIT_URL: server.url,
      AIRLOCK_AUDIT_KEY: p('audit.key'),
      PGPASSFILE: p('pgpass'),
      ...extra,
    });
  });

  /** `key generate` is an audited command: one key.generate event naming the public key it wrote. */
  const generate = (home: string, name: string, extra: NodeJS.ProcessEnv = {}) =>
    runCliProcess(['key', 'generate', '--output-key-prefix', p(name)], { env: env(home, extra) });

  const exported = async (home: string): Promise<Exported[]> => {
    const r = await runCliProcess(['audit', 'export'], { env: env(home, { AIRLOCK_AUDIT_KEY: '' }) });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Exported);
  };

  it('takes events from two stations at once; a third one verifies, exports, shows them without the key', async () => {
    const runs = await Promise.all([
      ...[0, 1, 2].map((n) => generate('station-a', `a${n}`)),
      ...[0, 1, 2].map((n) => generate('station-b', `b${n}`)),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    // On a station, the trail is not in $AIRLOCK_HOME/audit: only the last checkpoint it signed is kept.
    assert.deepEqual(await readdir(p('station-a')).then((n) => n.filter((f) => f.startsWith('audit'))), [
      'audit-shared',
    ]);

    const reader = { AIRLOCK_AUDIT_KEY: '' };
    const verify = await runCliProcess(['audit', 'verify', '--json', '--out', p('trail.checkpoint')], {
      env: env('auditor', reader),
    });
    assert.equal(verify.code, 0, verify.stderr);
    const v = JSON.parse(verify.stdout) as { ok: boolean; origin: string; size: number };
    assert.equal(v.ok, true);
    assert.equal(v.origin, 'audit.airlock.127.0.0.1');
    assert.equal(v.size, 6);

    const events = await exported('auditor');
    assert.deepEqual(
      events.map((e) => e.subjects[0]?.name).sort(),
      ['a0', 'a1', 'a2', 'b0', 'b1', 'b2'].map((n) => `${p(n)}.pub`),
    );
    assert.ok(events.every((e) => e.action === 'key.generate' && e.result === 'ok' && e.origin === v.origin));

    const show = await runCliProcess(['audit', 'show'], { env: env('auditor', reader) });
    assert.equal(show.code, 0, show.stderr);
    assert.match(
      show.stderr,
      /6 of 6 events in airlock@127\.0\.0\.1:\d+\/airlock \(log audit\.airlock\.127\.0\.0\.1, verified\)/,
    );

    // More from a station later: the checkpoint saved above is extended.
    assert.equal((await generate('station-b', 'b3')).code, 0);
    const since = await runCliProcess(['audit', 'verify', '--since', p('trail.checkpoint')], {
      env: env('station-a', reader),
    });
    assert.equal(since.code, 0, since.stderr);
    assert.match(since.stderr, /Audit log audit\.airlock\.127\.0\.0\.1: 7 events verified .*, extends /);
    assert.match(since.stderr, /key sha256:[0-9a-f]+ \(as found in the database: /);
  });

  it('refuses to write without AIRLOCK_AUDIT_KEY, or with another key, and says which', async () => {
    const keyless = await generate('station-c', 'c0', { AIRLOCK_AUDIT_KEY: '' });
    assert.equal(keyless.code, 3);
    assert.match(keyless.stderr, /AIRLOCK_AUDIT_KEY is not set.*\[E_INPUT_MISSING\]/s);
    const other = await runCliProcess(['key', 'generate', '--output-key-prefix', p('other')], {
      env: { AIRLOCK_HOME: p('key-maker'), AIRLOCK_PASSWORD: 'pw' },
    });
    assert.equal(other.code, 0, other.stderr);
    const wrong = await generate('station-c', 'c1', { AIRLOCK_AUDIT_KEY: p('other.key') });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /was created with key .*\[E_KEY_MISMATCH\]/s);
    const named = await generate('station-c', 'c2', { AIRLOCK_AUDIT_ORIGIN: 'audit.elsewhere' });
    assert.equal(named.code, 2);
    assert.match(named.stderr, /is named audit\.airlock\.127\.0\.0\.1, not audit\.elsewhere/);
    // A refused writer recorded nothing.
    assert.ok((await exported('auditor')).every((e) => !/\/c\d\.pub$/.test(e.subjects[0]?.name ?? '')));
  });

  it('loses nothing a command acknowledged when commands are killed at random moments', async () => {
    console.log(`AIRLOCK_CRASH_SEED=${SEED}`);
    const random = seededRandom(SEED);
    const acknowledged: string[] = [];
    let killed = 0;
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const runs = ['station-a', 'station-b', 'station-a'].map((home, i) => {
        const name = `k${round}-${i}`;
        const child = spawn(process.execPath, [AIRLOCK_BIN, 'key', 'generate', '--output-key-prefix', p(name)], {
          env: { ...process.env, ...env(home) },
          stdio: 'ignore',
        });
        // From start-up (the trail being opened) to well after the event was recorded.
        const timer = setTimeout(() => child.kill('SIGKILL'), 200 + random() * 1600);
        return new Promise<void>((resolve) =>
          child.on('close', (code, signal) => {
            clearTimeout(timer);
            if (signal) killed++;
            else if (code === 0) acknowledged.push(`${p(name)}.pub`);
            resolve();
          }),
        );
      });
      await Promise.all(runs);
    }
    const after = await generate('station-a', 'after-kills');
    assert.equal(after.code, 0, after.stderr);
    acknowledged.push(`${p('after-kills')}.pub`);
    for (const home of ['station-a', 'station-b', 'auditor']) {
      const v = await runCliProcess(['audit', 'verify'], { env: env(home, { AIRLOCK_AUDIT_KEY: '' }) });
      assert.equal(v.code, 0, `${home}: ${v.stderr}`);
    }
    const names = new Set((await exported('auditor')).map((e) => e.subjects[0]?.name));
    assert.deepEqual(
      acknowledged.filter((n) => !names.has(n)),
      [],
      'commands that exited 0 without their event in the trail',
    );
    console.log(
      `${KILL_ROUNDS * 3} commands: ${killed} killed, ${acknowledged.length - 1} acknowledged; ` +
        `${names.size} events in the trail`,
    );
  });
});
