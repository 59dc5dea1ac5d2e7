// airlock vulndb build / import / status through the CLI, with the clock injected: a database built and
// signed on the connected side, carried as one file, installed, refused when tampered, signed by another
// key, older than the installed one or too old (allowed under a recorded break-glass), and reported to
// monitoring as trust status reports trust roots.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { osvRecord, writeRecords, zipFolder } from '../helpers/osv-records.ts';
import { AIRLOCK_BIN, runCli } from '../helpers/cli.ts';
import { unknownFlagsIn } from '../helpers/flags.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-vulndb-');
const at = (iso: string) => () => new Date(iso);
const env = { AIRLOCK_HOME: join(dir, 'home') };
const KEY = join(dir, 'vulndb.key');
const PUB = join(dir, 'vulndb.pub');
const OTHER_PUB = join(dir, 'other.pub');

async function writeKeys(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(KEY, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  await writeFile(PUB, publicKey.export({ format: 'pem', type: 'spki' }));
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  await writeFile(OTHER_PUB, other.export({ format: 'pem', type: 'spki' }));
}

/** Builds `name` at `when` from a folder and a zip, through the CLI. */
async function build(name: string, when: string, extra: string[] = []) {
  const src = join(dir, `${name}-src`);
  await writeRecords(join(src, 'folder'), [osvRecord('PYSEC-1', [['PyPI', 'Django']])]);
  await writeRecords(join(src, 'zipped'), [osvRecord('DSA-1', [['Debian:12', 'openssl']])]);
  zipFolder(join(src, 'zipped'), join(src, 'all.zip'));
  return runCli(
    ['vulndb', 'build', join(src, 'folder'), join(src, 'all.zip'), '-o', join(dir, name), '--key', KEY, ...extra],
    { env, now: at(when) },
  );
}

const importDb = (name: string, when: string, ...extra: string[]) =>
  runCli(['vulndb', 'import', join(dir, name), '--key', PUB, '--json', ...extra], { env, now: at(when) });

const errorCode = (stdout: string) => (JSON.parse(stdout) as { error?: { code?: string } }).error?.code;

describe('airlock vulndb', () => {
  it('build: signed, counted, progress with totals on a terminal; needs -o and --key', async () => {
    await writeKeys();
    const b = await build('v1.db', '2026-12-01T00:00:00Z', ['--json']);
    assert.equal(b.code, 0, b.stderr);
    const doc = JSON.parse(b.stdout);
    assert.equal(doc.manifest.records, 2);
    assert.deepEqual(doc.manifest.ecosystems, { 'Debian:12': 1, PyPI: 1 });
    assert.equal(doc.manifest.built, '2026-12-01T00:00:00.000Z');
    const tty = await build('tty.db', '2026-12-01T00:00:00Z');
    assert.equal(tty.code, 0, tty.stderr);
    const shown = await runCli(
      ['vulndb', 'build', join(dir, 'tty.db-src', 'folder'), '-o', join(dir, 'p.db'), '--key', KEY],
      {
        env,
        tty: true,
      },
    );
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stderr, /1 of 1 records/);
    assert.equal((await build('tty.db', '2026-12-01T00:00:00Z')).code, 2); // exists: E_OUTPUT_EXISTS
    assert.equal((await build('tty.db', '2026-12-01T00:00:00Z', ['--force'])).code, 0);
    const noKey = await runCli(['vulndb', 'build', join(dir, 'v1.db-src', 'folder'), '-o', join(dir, 'n.db')], { env });
    assert.equal(noKey.code, 2);
    const noOut = await runCli(['vulndb', 'build', join(dir, 'v1.db-src', 'folder'), '--key', KEY], { env });
    assert.equal(noOut.code, 2);
  });

  it('import installs; again changes nothing; status --check, --json and --prometheus', async () => {
    const i = await importDb('v1.db', '2026-12-02T00:00:00Z');
    assert.equal(i.code, 0, i.stderr);
    assert.equal(JSON.parse(i.stdout).unchanged, false);
    const again = await importDb('v1.db', '2026-12-02T00:00:00Z');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).unchanged, true);
    const check = await runCli(['vulndb', 'status', '--check'], { env, now: at('2026-12-03T00:00:00Z') });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^AIRLOCK VULNDB OK - default: built 2026-12-01T00:00:00.000Z, acceptable for 5 more/);
    const warn = await runCli(['vulndb', 'status', '--check', '--at', '2026-12-06T12:00:00Z'], { env });
    assert.equal(warn.code, 1);
    assert.match(warn.stdout, /^AIRLOCK VULNDB WARNING/);
    const prom = join(dir, 'vulndb.prom');
    const expired = await runCli(['vulndb', 'status', '--check', '--prometheus', prom], {
      env,
      now: at('2026-12-09T00:00:00Z'),
    });
    assert.equal(expired.code, 2);
    assert.match(expired.stdout, /^AIRLOCK VULNDB CRITICAL/);
    assert.match(await readFile(prom, 'utf8'), /^airlock_vulndb_status\{name="default"\} 2$/m);
    const json = await runCli(['vulndb', 'status', '--json'], { env, now: at('2026-12-03T00:00:00Z') });
    assert.equal(json.code, 0);
    const status = JSON.parse(json.stdout);
    assert.equal(status.level, 'OK');
    assert.deepEqual(
      status.databases.map((d: { name: string; state: string; records: number }) => [d.name, d.state, d.records]),
      [['default', 'ok', 2]],
    );
    const none = await runCli(['vulndb', 'status', '--check', '--name', 'nothing'], { env });
    assert.equal(none.code, 3);
    assert.match(none.stdout, /no vulnerability database installed as 'nothing'/);
  });

  it('refuses tampered, wrongly signed, older and too old databases with their codes', async () => {
    await copyFile(join(dir, 'v1.db'), join(dir, 'tampered.db'));
    const db = new DatabaseSync(join(dir, 'tampered.db'));
    db.exec('UPDATE records SET json = replace(json, \'"fixed":"2.0"\', \'"fixed":"9.0"\')');
    db.close();
    const tampered = await importDb('tampered.db', '2026-12-02T00:00:00Z', '--name', 'fresh');
    assert.equal(tampered.code, 1);
    assert.equal(errorCode(tampered.stdout), 'E_VULNDB_TAMPERED');
    const other = await runCli(['vulndb', 'import', join(dir, 'v1.db'), '--key', OTHER_PUB, '--json'], {
      env,
      now: at('2026-12-02T00:00:00Z'),
    });
    assert.equal(other.code, 1);
    assert.equal(errorCode(other.stdout), 'E_VULNDB_SIGNATURE');
    assert.equal((await build('v0.db', '2026-11-30T00:00:00Z')).code, 0);
    const older = await importDb('v0.db', '2026-12-02T00:00:00Z');
    assert.equal(older.code, 1);
    assert.equal(errorCode(older.stdout), 'E_VULNDB_ROLLBACK');
    assert.equal((await build('v2.db', '2026-12-02T00:00:00Z')).code, 0);
    const stale = await importDb('v2.db', '2026-12-20T00:00:00Z');
    assert.equal(stale.code, 1);
    assert.equal(errorCode(stale.stdout), 'E_VULNDB_STALE');
    const hint = String(JSON.parse(stale.stdout).error.hint);
    assert.match(hint, /--break-glass --reason TEXT/);
    assert.deepEqual(await unknownFlagsIn(hint, 'vulndb import'), []);
    const shorter = await importDb('v2.db', '2026-12-05T00:00:00Z', '--max-age', '2');
    assert.equal(errorCode(shorter.stdout), 'E_VULNDB_STALE');
    const glass = await importDb('v2.db', '2026-12-20T00:00:00Z', '--break-glass', '--reason', 'CHG-7: courier late');
    assert.equal(glass.code, 0, glass.stderr);
    assert.match(glass.stderr, /BREAK-GLASS/);
    assert.equal(JSON.parse(glass.stdout).install.breakGlass.reason, 'CHG-7: courier late');
    const check = await runCli(['vulndb', 'status', '--check'], { env, now: at('2026-12-21T00:00:00Z') });
    assert.equal(check.code, 2);
    assert.match(check.stdout, /break-glass install until 2026-12-27T00:00:00.000Z \(CHG-7: courier late\)/);
    const audit = await runCli(['audit', 'show', '--json'], { env });
    assert.equal(audit.code, 0, audit.stderr);
    const actions = (JSON.parse(audit.stdout).events as { action: string; result: string }[])
      .filter((e) => e.action.startsWith('vulndb.'))
      .map((e) => `${e.action} ${e.result}`);
    assert.ok(actions.includes('vulndb.import ok'), actions.join());
    assert.ok(actions.includes('vulndb.import refused'), actions.join());
    assert.ok(actions.includes('vulndb.break-glass ok'), actions.join());
    assert.ok(actions.includes('vulndb.build ok'), actions.join());
  });

  it('a build killed half-way leaves nothing under the output name', async () => {
    const src = join(dir, 'many');
    await writeRecords(
      src,
      Array.from({ length: 3000 }, (_, i) => osvRecord(`MANY-${i}`, [['PyPI', `p${i}`]])),
    );
    const out = join(dir, 'killed', 'vuln.db');
    await mkdir(join(dir, 'killed'));
    const child = spawn(process.execPath, [AIRLOCK_BIN, 'vulndb', 'build', src, '-o', out, '--key', KEY], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (_code, signal) => resolve(signal ? -1 : _code)),
    );
    let seen = false;
    for (let i = 0; i < 400 && !seen; i++) {
      seen = (await readdir(join(dir, 'killed'))).some((f) => f.startsWith('vuln.db.tmp-'));
      if (!seen) await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    const code = await exited;
    assert.ok(seen, 'the build never started writing');
    assert.equal(code, -1, 'the build finished before it could be killed');
    assert.equal(existsSync(out), false);
    // The next build removes what the killed one left.
    const again = await runCli(['vulndb', 'build', join(dir, 'v1.db-src', 'folder'), '-o', out, '--key', KEY], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await readdir(join(dir, 'killed')), ['vuln.db']);
  });
});
