// `airlock vulndb import` killed (SIGKILL) at random points while it installs a newer database, again and
// again: after every kill the install is whole — the database installed is the one before or the new one,
// its file matches what its install record says, `vulndb status` reads it — the new one is installed only
// with its `vulndb.import ok` record in the audit trail (no effect without its record), and the trail
// verifies. The next, uninterrupted import still succeeds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { AIRLOCK_BIN, runCli } from '../helpers/cli.ts';
import { osvRecord, writeRecords } from '../helpers/osv-records.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-vulndb-kill-');
const home = join(dir, 'home');
const env = { AIRLOCK_HOME: home };
const KEY = join(dir, 'vulndb.key');
const PUB = join(dir, 'vulndb.pub');
const ROUNDS = 12;

/** Database `n`, built `n` minutes after a start an hour ago: each one newer than the one before. */
async function build(n: number): Promise<{ path: string; built: string }> {
  const built = new Date(Date.now() - 3_600_000 + n * 60_000).toISOString();
  const src = join(dir, `src-${n}`);
  await writeRecords(src, [osvRecord(`PYSEC-${n}`, [['PyPI', 'django']]), osvRecord(`DSA-${n}`, [['npm', 'ms']])]);
  const path = join(dir, `v${n}.db`);
  const r = await runCli(['vulndb', 'build', src, '-o', path, '--key', KEY], { env, now: () => new Date(built) });
  assert.equal(r.code, 0, r.stderr);
  return { path, built };
}

/** `vulndb import` in a process of its own, SIGKILLed after `ms` (or left to finish); its exit. */
function importKilledAfter(path: string, ms: number): Promise<'killed' | number> {
  const child = spawn(process.execPath, [AIRLOCK_BIN, 'vulndb', 'import', path, '--key', PUB], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ? 'killed' : (code ?? -1));
    }),
  );
}

/** The installed database's build time (undefined: none), after checking its file against its record. */
async function installedBuilt(): Promise<string | undefined> {
  const status = await runCli(['vulndb', 'status', '--json'], { env });
  const doc = JSON.parse(status.stdout) as { databases: Array<{ built?: string; problem?: unknown }> };
  const [db] = doc.databases;
  assert.equal(db?.problem, undefined, `the install is broken: ${status.stdout}`);
  return db?.built === undefined ? undefined : new Date(db.built).toISOString();
}

async function importRecordedFor(built: string): Promise<boolean> {
  const audit = await verifyAuditLog(home);
  assert.equal(audit.ok, true, JSON.stringify(audit.problems));
  return audit.events.some(
    (e) => e.event.action === 'vulndb.import' && e.event.result === 'ok' && e.event.details?.built === built,
  );
}

describe('vulndb import under SIGKILL', () => {
  it('leaves the old install or the new one, whole, and never the new one without its record', async (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(KEY, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await writeFile(PUB, publicKey.export({ format: 'pem', type: 'spki' }));
    const first = await build(0);
    assert.equal(await importKilledAfter(first.path, 60_000), 0);
    let installed = await installedBuilt();
    assert.equal(installed, first.built);
    const outcomes = { killed: 0, finished: 0, newInstalled: 0 };
    for (let n = 1; n <= ROUNDS; n++) {
      const next = await build(n);
      const delay = randomInt(50, 900);
      const exit = await importKilledAfter(next.path, delay);
      if (exit === 'killed') outcomes.killed++;
      else {
        assert.equal(exit, 0, `import ${n} failed on its own`);
        outcomes.finished++;
      }
      const now = await installedBuilt();
      assert.ok(
        now === installed || now === next.built,
        `round ${n}: installed ${now}, expected ${installed} or ${next.built}`,
      );
      if (now === next.built) {
        outcomes.newInstalled++;
        assert.ok(await importRecordedFor(next.built), `round ${n}: installed without its vulndb.import record`);
      }
      installed = now;
    }
    const last = await build(ROUNDS + 1);
    assert.equal(await importKilledAfter(last.path, 60_000), 0, 'an import after the kills failed');
    assert.equal(await installedBuilt(), last.built);
    t.diagnostic(
      `${ROUNDS} rounds: ${outcomes.killed} killed, ${outcomes.finished} finished, ` +
        `${outcomes.newInstalled} left the new database installed`,
    );
  });
});
