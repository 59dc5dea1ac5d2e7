// `airlock log migrate` and `airlock audit migrate` against a real PostgreSQL: a log made by a real
// `log serve --data DIR` is moved and then served from the database (same checkpoint, further appends);
// an audit trail made by audited commands is moved and read back; and a migration SIGKILLed at random
// moments leaves the database either without a log or with the complete, verified one.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { publicKeyPem } from '../../src/crypto/keys.ts';
import { checkpointOpener, checkpointSignerFor } from '../../src/log/checkpoint-signer.ts';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import { LogEngine } from '../../src/log/engine.ts';
import { fsckLog } from '../../src/log/fsck.ts';
import { lastSignedFile } from '../../src/log/last-signed-file.ts';
import { parseNote } from '../../src/log/note.ts';
import { PostgresLogStorage } from '../../src/log/postgres-storage.ts';
import { SqliteLogStorage } from '../../src/log/sqlite-storage.ts';
import { AIRLOCK_BIN, runCli, runCliProcess } from '../helpers/cli.ts';
import { makeLogKey, spawnServer } from '../helpers/log-server.ts';
import { postgresAvailable, usePostgres } from '../helpers/postgres.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { EntrySource } from '../helpers/write-load.ts';
import { spawn } from 'node:child_process';

const missing = postgresAvailable();

/** Every file of a folder by its SHA-256, but SQLite's -wal/-shm companions (any reader may create them). */
async function filesDigest(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(folder)).sort()) {
    if (/-(wal|shm)$/.test(name)) continue;
    out[name] = createHash('sha256')
      .update(await readFile(join(folder, name)))
      .digest('hex');
  }
  return out;
}

/** Tree size and base64 root of a checkpoint note. */
function sizeAndRoot(note: string): { size: number; root: string } {
  const cp = parseCheckpoint(parseNote(note).text);
  return { size: cp.size, root: Buffer.from(cp.rootHash).toString('base64') };
}

describe('airlock log migrate / audit migrate', { skip: missing }, () => {
  const server = usePostgres();
  const dir = useTempDir('airlock-log-migrate-');
  const passfile = join(dir, 'pgpass');
  const urlOf = (database: string) => server.url.replace(/\/airlock$/, `/${database}`);
  const migrate = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCliProcess([...args, '--json'], { env: { PGPASSFILE: passfile, ...env } });
  before(async () => {
    await writeFile(passfile, `127.0.0.1:${server.port}:*:airlock:${server.password}\n`, { mode: 0o600 });
  });

  async function createDatabase(name: string): Promise<string> {
    const admin = await server.admin();
    await admin.query(`CREATE DATABASE ${name} OWNER airlock`);
    await admin.end();
    return urlOf(name);
  }

  it('moves a log served from sqlite into PostgreSQL, verified; log serve --storage then serves it on', async () => {
    await makeLogKey(join(dir, 'log'));
    const source = join(dir, 'sqlite-log');
    const serveArgs = [
      'log',
      'serve',
      '--key',
      join(dir, 'log.key'),
      '--origin',
      '127.0.0.1',
      '--listen',
      '127.0.0.1:0',
    ];
    const entries = new EntrySource('migrate');
    const post = async (url: string, id: number) => {
      const res = await fetch(`${url}/api/v2/log/entries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: entries.request(id),
      });
      assert.equal(res.status, 201, await res.clone().text());
      return Number(((await res.json()) as { logIndex: string }).logIndex);
    };
    const log = await spawnServer([...serveArgs, '--data', source]).ready;
    after(() => log.kill());
    for (let start = 0; start < 300; start += 50)
      await Promise.all(Array.from({ length: 50 }, (_, i) => post(log.url, start + i)));
    assert.equal(await log.stop(), 0);
    const signed = sizeAndRoot(await readFile(join(source, 'checkpoint'), 'utf8'));
    assert.equal(signed.size, 300);
    const files = await filesDigest(source);

    const url = await createDatabase('tlog');
    const r = await migrate(['log', 'migrate', '--from', source, '--to', url]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(
      [report.copied, report.verified, report.size, report.root, report.schema, report.lastSignedSize],
      [true, true, 300, signed.root, 'public', 300],
    );
    assert.deepEqual(await filesDigest(source), files, 'the source is never modified');
    const again = await migrate(['log', 'migrate', '--from', source, '--to', url]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { copied: boolean }).copied, false);

    // Served from the database alone (a fresh --data folder): its checkpoint, and a further append after it.
    const served = join(dir, 'pg-log');
    const pgLog = await spawnServer([...serveArgs, '--data', served, '--storage', url], { PGPASSFILE: passfile }).ready;
    after(() => pgLog.kill());
    assert.deepEqual(sizeAndRoot(await (await fetch(`${pgLog.url}/checkpoint`)).text()), signed);
    assert.equal(await post(pgLog.url, 300), 300);
    assert.equal(await pgLog.stop(), 0);

    // Another log is not migrated over this one.
    const other = await makeEngineLog('other', 5);
    const refused = await migrate(['log', 'migrate', '--from', other, '--to', url]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /holds a log of size 301 already, not this one \(size 5\).*E_OUTPUT_EXISTS/s);
  });

  it('moves the audit trail into the schema airlock_audit, where it reads back with its key', async () => {
    const home = join(dir, 'home');
    const env = { AIRLOCK_HOME: home, AIRLOCK_PASSWORD: 'pw' };
    await writeFile(join(dir, 'notes.txt'), 'release notes');
    const blob = (n: number) => [
      'sign-blob',
      join(dir, 'notes.txt'),
      '--key',
      join(dir, 'release.key'),
      '--tlog-upload=false',
      '--bundle',
      join(dir, `${n}.json`),
    ];
    for (const args of [['key', 'generate', '--output-key-prefix', join(dir, 'release')], blob(1), blob(2)]) {
      const run = await runCli(args, { env, cwd: dir });
      assert.equal(run.code, 0, run.stderr);
    }
    const audit = join(home, 'audit');
    const files = await filesDigest(audit);
    const url = await createDatabase('audit');
    const r = await migrate(['audit', 'migrate', '--to', url], env);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { size: number; schema: string; origin: string; copied: boolean };
    assert.equal(report.schema, 'airlock_audit');
    assert.ok(report.size >= 3, r.stdout);
    assert.deepEqual(await filesDigest(audit), files, 'the trail is never modified');
    // `audit verify` on the migrated trail, as an auditor's machine with no trail of its own reads it.
    const verified = await runCliProcess(['audit', 'verify', '--json'], {
      env: { AIRLOCK_AUDIT_URL: url, PGPASSFILE: passfile, AIRLOCK_HOME: join(dir, 'auditor') },
    });
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal((JSON.parse(verified.stdout) as { size: number }).size, report.size);

    const origin = (await readFile(join(audit, 'origin'), 'utf8')).trim();
    const publicKey = createPublicKey(await readFile(join(audit, 'audit.pub')));
    const storage = await PostgresLogStorage.open({ url, password: server.password, schema: 'airlock_audit' });
    try {
      const fsck = await fsckLog(storage, checkpointOpener(origin, publicKey));
      assert.deepEqual(fsck.problems, []);
      assert.equal(fsck.size, report.size);
      assert.equal(await storage.meta('origin'), origin);
      assert.equal(await storage.meta('public-key'), publicKeyPem(publicKey));
    } finally {
      await storage.close();
    }
  });

  /** A sqlite log made in-process (quicker than over HTTP when it must be big): log.db, checkpoint, log.pub. */
  async function makeEngineLog(name: string, size: number): Promise<string> {
    const at = join(dir, name);
    await mkdir(at);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const engine = await LogEngine.open({
      storage: SqliteLogStorage.open(join(at, 'log.db')),
      checkpoints: checkpointSignerFor('kill.test', createKeyObjectSigner(privateKey, 'ed25519', 'test key')),
      lastSigned: lastSignedFile(join(at, 'checkpoint')),
    });
    for (let start = 0; start < size; start += 1000)
      await Promise.all(
        Array.from({ length: Math.min(1000, size - start) }, (_, i) =>
          engine.append(Buffer.from(`${name} ${start + i}`)),
        ),
      );
    await engine.close();
    await writeFile(join(at, 'log.pub'), publicKeyPem(publicKey));
    return at;
  }

  it('SIGKILLed at random moments, a migration leaves no log or the whole verified one; a re-run ends it', async () => {
    const source = await makeEngineLog('big', 20_000);
    const seed = Number(process.env.MIGRATE_KILL_SEED ?? Date.now() % 1_000_000);
    console.log(`kill test seed ${seed} (MIGRATE_KILL_SEED to replay)`);
    let state = seed;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const started = performance.now();
    const full = await migrate(['log', 'migrate', '--from', source, '--to', await createDatabase('kill_full')]);
    assert.equal(full.code, 0, full.stderr);
    const fullMs = performance.now() - started;
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const url = await createDatabase(`kill_${attempt}`);
      const delay = Math.floor(random() * fullMs);
      const child = spawn(process.execPath, [AIRLOCK_BIN, 'log', 'migrate', '--from', source, '--to', url], {
        env: { ...process.env, PGPASSFILE: passfile },
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill('SIGKILL');
      await exited;
      const storage = await PostgresLogStorage.open({ url, password: server.password });
      const held = await storage.readState();
      if (held === undefined) {
        assert.deepEqual(await storage.listEntries(0, 1), [], `attempt ${attempt}: entries without a state`);
        assert.equal(await storage.readTile(0, 0), undefined, `attempt ${attempt}: tiles without a state`);
      } else {
        assert.equal(held.size, 20_000, `attempt ${attempt}: a partial state`);
      }
      await storage.close();
      const rerun = await migrate(['log', 'migrate', '--from', source, '--to', url]);
      assert.equal(rerun.code, 0, rerun.stderr);
      const report = JSON.parse(rerun.stdout) as { copied: boolean; size: number };
      assert.equal(report.size, 20_000);
      assert.equal(report.copied, held === undefined, `attempt ${attempt}: the re-run copies only into no log`);
      outcomes.push(`${delay} ms: ${held === undefined ? 'no log' : 'complete'}`);
    }
    console.log(`kill test (full run ${Math.round(fullMs)} ms): ${outcomes.join(', ')}`);
  });
});
