// The audit trail as an operator meets it: commands record their decisions, `audit show|verify|export`
// read them back, and an edited database is named event by event.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { before, describe, it } from 'node:test';
import { runCli, runCliProcess } from '../helpers/cli.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-e2e-audit-');
const env = () => ({ AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') });
const now = () => new Date('2026-11-21T10:00:00Z');
const cli = (args: string[]) => runCli(args, { env: env(), now, cwd: dir });

interface ShownEvent {
  index: number;
  action: string;
  result: string;
  subjects: Array<{ name: string; digest?: string }>;
  reason?: string;
}

before(async () => {
  await writeFile(join(dir, 'app.tar'), 'the artifact');
  await writeFile(join(dir, 'other.tar'), 'another artifact');
  for (const args of [
    ['key', 'generate', '--output-key-prefix', join(dir, 'release')],
    [
      'sign-blob',
      join(dir, 'app.tar'),
      '--key',
      join(dir, 'release.key'),
      '--tlog-upload=false',
      '--bundle',
      join(dir, 'app.sigstore.json'),
    ],
    [
      'verify-blob',
      join(dir, 'app.tar'),
      '--bundle',
      join(dir, 'app.sigstore.json'),
      '--key',
      join(dir, 'release.pub'),
      '--insecure-ignore-tlog',
    ],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
  }
  const refused = await cli([
    'verify-blob',
    join(dir, 'other.tar'),
    '--bundle',
    join(dir, 'app.sigstore.json'),
    '--key',
    join(dir, 'release.pub'),
    '--insecure-ignore-tlog',
  ]);
  assert.equal(refused.code, 1, refused.stderr);
  // A usage error decides nothing: not recorded.
  assert.equal((await cli(['verify-blob', join(dir, 'app.tar')])).code, 2);
});

describe('airlock audit', () => {
  it('show: every decision, with subjects, digests and the reason of a refusal', async () => {
    const r = await cli(['audit', 'show', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; events: ShownEvent[] };
    assert.equal(doc.ok, true);
    assert.deepEqual(
      doc.events.map((e) => [e.index, e.action, e.result]),
      [
        [0, 'key.generate', 'ok'],
        [1, 'sign', 'ok'],
        [2, 'verify', 'ok'],
        [3, 'verify', 'refused'],
      ],
    );
    const digest = (await import('node:crypto')).createHash('sha256').update('the artifact').digest('hex');
    assert.deepEqual(doc.events[1]?.subjects, [{ name: join(dir, 'app.tar'), digest: `sha256:${digest}` }]);
    assert.match(doc.events[3]?.reason ?? '', /^E_SIGNATURE_INVALID|^E_DIGEST_MISMATCH|^E_ARTIFACT/);

    const refused = await cli(['audit', 'show', '--result', 'refused', '--since', '1h']);
    assert.equal(refused.code, 0, refused.stderr);
    assert.equal(refused.stdout.trim().split('\n').length, 1);
    assert.match(refused.stdout, /^\s+3 {2}2026-11-21T10:00:00.000Z {2}refused/);
    assert.equal(
      (await cli(['audit', 'show', '--since', '2026-11-22T00:00:00Z', '--json'])).stdout.includes('"events": []'),
      true,
    );
  });

  it('export: JSON lines with index and origin', async () => {
    const r = await cli(['audit', 'export', '--action', 'verify']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ShownEvent & { origin: string });
    assert.deepEqual(
      lines.map((l) => [l.index, l.result]),
      [
        [2, 'ok'],
        [3, 'refused'],
      ],
    );
    assert.match(lines[0]?.origin ?? '', /^audit\./);
  });

  it(
    'verify --since with a file that is no checkpoint: an input error (exit 3), never "the audit ' +
      'log does not verify"',
    async () => {
      await writeFile(join(dir, 'garbage.checkpoint'), 'not a checkpoint at all\n');
      await writeFile(join(dir, 'empty.checkpoint'), '');
      for (const [since, code] of [
        [join(dir, 'no-such.checkpoint'), 'E_INPUT_MISSING'],
        [join(dir, 'garbage.checkpoint'), 'E_INPUT_MALFORMED'],
        [join(dir, 'empty.checkpoint'), 'E_INPUT_MALFORMED'],
        [join(dir, 'app.tar'), 'E_INPUT_MALFORMED'],
        [dir, 'E_INPUT_MALFORMED'],
      ] as const) {
        const r = await cli(['audit', 'verify', '--since', since, '--json']);
        assert.equal(r.code, 3, `${since}: ${r.stderr}`);
        assert.equal(JSON.parse(r.stdout).error.code, code, since);
      }
      // A real checkpoint of another audit log is well-formed: that it does not verify is a verdict.
      const other = { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'other-home') };
      assert.equal(
        (await runCli(['key', 'generate', '--output-key-prefix', join(dir, 'other')], { env: other, now })).code,
        0,
      );
      assert.equal(
        (await runCli(['audit', 'verify', '--out', join(dir, 'foreign.checkpoint')], { env: other, now })).code,
        0,
      );
      const foreign = await cli(['audit', 'verify', '--since', join(dir, 'foreign.checkpoint')]);
      assert.equal(foreign.code, 1, foreign.stderr);
      assert.match(foreign.stderr, /E_LOG_CORRUPT/);
    },
  );

  it(
    'verify: saves a checkpoint; an edited, a deleted and a reordered event are each named by ' + 'index (exit 1)',
    async () => {
      const saved = join(dir, 'audit.checkpoint');
      const ok = await cli(['audit', 'verify', '--out', saved, '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).size, 4, 'reading the trail is not itself recorded');
      assert.match(await readFile(saved, 'utf8'), /^audit\.[^\n]+\n4\n/);
      assert.equal(
        (
          await cli([
            'verify-blob',
            join(dir, 'app.tar'),
            '--bundle',
            join(dir, 'app.sigstore.json'),
            '--key',
            join(dir, 'release.pub'),
            '--insecure-ignore-tlog',
          ])
        ).code,
        0,
      );
      const since = await cli(['audit', 'verify', '--since', saved]);
      assert.equal(since.code, 0, since.stderr);
      assert.match(since.stderr, /5 events verified .*extends/);

      const db = new DatabaseSync(join(dir, 'home', 'audit', 'audit.db'));
      try {
        db.prepare('UPDATE entries SET data = replace(data, ?, ?) WHERE idx = 3').run(
          Buffer.from('"refused"'),
          Buffer.from('"ok"'),
        );
        db.exec('DELETE FROM entries WHERE idx = 1');
        db.exec(
          'BEGIN; UPDATE entries SET idx = -1 WHERE idx = 2; UPDATE entries SET idx = 2 WHERE idx ' +
            '= 4; UPDATE entries SET idx = 4 WHERE idx = -1; COMMIT;',
        );
      } finally {
        db.close();
      }
      const bad = await cli(['audit', 'verify', '--since', saved]);
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stderr, /E_LOG_CORRUPT/);
      for (const [index, what] of [
        [1, 'missing'],
        [2, 'changed'],
        [3, 'changed'],
        [4, 'changed'],
      ] as const)
        assert.match(bad.stderr, new RegExp(`event ${index}: ${what}`));
      assert.doesNotMatch(bad.stderr, /event 0:/);
      const json = JSON.parse((await cli(['audit', 'verify', '--json'])).stdout);
      assert.deepEqual(
        [
          ...new Set(
            json.error.details.problems.flatMap((p: { index?: number }) => (p.index === undefined ? [] : [p.index])),
          ),
        ],
        [1, 2, 3, 4],
      );

      const exported = await cli(['audit', 'export']);
      assert.equal(exported.code, 1);
      assert.equal(exported.stdout, '', 'nothing exported from a log that does not verify');
      const shown = await cli(['audit', 'show']);
      assert.equal(shown.code, 0);
      assert.match(shown.stderr, /does not verify/);
    },
  );

  it('commands starting at once on a fresh machine share one audit log: one key, every event', async () => {
    const fresh = { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'race-home') };
    const runs = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        runCliProcess(['key', 'generate', '--algorithm', 'ed25519', '--output-key-prefix', join(dir, `race-${n}`)], {
          env: fresh,
        }),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const v = await runCli(['audit', 'verify', '--json'], { env: fresh, now });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(JSON.parse(v.stdout).size, 4);
    assert.deepEqual(
      (await readdir(join(dir, 'race-home'))).filter((f) => f.startsWith('.audit-new-')),
      [],
      'no draft left behind',
    );
  });

  it('a trail that cannot be written stops what makes something before it does; a verdict keeps its exit', async () => {
    const broken = { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'broken-home') };
    await mkdir(join(dir, 'broken-home'));
    await writeFile(join(dir, 'broken-home', 'audit'), 'a file where the audit folder goes');
    const run = (args: string[]) => runCli(args, { env: broken, now, cwd: dir });
    const key = await run(['key', 'generate', '--output-key-prefix', join(dir, 'unrecorded')]);
    assert.equal(key.code, 3, key.stderr);
    const bundle = join(dir, 'unrecorded.sigstore.json');
    const signed = await run([
      ...['sign-blob', join(dir, 'app.tar'), '--key', join(dir, 'release.key')],
      ...['--tlog-upload=false', '--bundle', bundle],
    ]);
    assert.equal(signed.code, 3, signed.stderr);
    assert.match(signed.stderr, /audit/);
    const made = (await readdir(dir)).filter((f) => f.startsWith('unrecorded'));
    assert.deepEqual(made, [], 'a key or a signature was made that no audit event records');
    const refused = await run([
      ...['verify-blob', join(dir, 'other.tar'), '--bundle', join(dir, 'app.sigstore.json')],
      ...['--key', join(dir, 'release.pub'), '--insecure-ignore-tlog'],
    ]);
    assert.equal(refused.code, 1, refused.stderr);
  });

  it('no audit log yet: a clear message, not a stack trace', async () => {
    const r = await runCli(['audit', 'verify'], { env: { AIRLOCK_HOME: join(dir, 'empty-home') }, now });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /no audit log in .*E_INPUT_MISSING/);
  });
});
