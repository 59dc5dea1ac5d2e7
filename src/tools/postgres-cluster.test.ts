// The throw-away PostgreSQL server as the demo uses it: its passfile gives a password that needs
// escaping, the role logs in with it and no other, and a start that fails half-way (here: creating the
// database) leaves neither a process nor a folder behind. test/helpers/postgres.test.ts checks crash,
// restart and stop through the test helper built on it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { readPgpassPassword } from '../log/pgpass.ts';
import { POSTGRES_HINT, postgresBinDir, startPostgresCluster } from './postgres-cluster.ts';

const missing = postgresBinDir(process.env.PATH) ? undefined : `PostgreSQL not installed (${POSTGRES_HINT})`;

/** Postmasters whose command line names `dir`. */
function postmastersIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('startPostgresCluster', { skip: missing }, () => {
  let parent: string;
  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'airlock-pg-cluster-'));
    await chmod(parent, 0o711); // as root the server runs as nobody, who must reach its folder
  });
  after(() => rm(parent, { recursive: true, force: true }));
  const options = () => ({
    parent,
    pathList: process.env.PATH,
    role: 'demo',
    database: 'tlog',
    password: `a:b\\c:${randomBytes(6).toString('hex')}`,
    superuserPassword: randomBytes(12).toString('hex'),
  });

  it('writes a 0600 passfile whose escaped password logs the role in; another password is refused', async () => {
    const wanted = options();
    const cluster = await startPostgresCluster(wanted);
    try {
      assert.equal(cluster.url, `postgres://demo@127.0.0.1:${cluster.port}/tlog`);
      const passfile = join(parent, 'pgpass');
      await cluster.writePassfile(passfile);
      assert.equal((await stat(passfile)).mode & 0o777, 0o600);
      const target = { host: '127.0.0.1', port: cluster.port, database: 'tlog', user: 'demo' };
      const password = await readPgpassPassword(passfile, target);
      assert.equal(password, wanted.password);
      const client = new pg.Client({ ...cluster.config(), password });
      await client.connect();
      assert.deepEqual((await client.query('SELECT current_user AS u')).rows, [{ u: 'demo' }]);
      await client.end();
      await assert.rejects(
        new pg.Client({ ...cluster.config(), password: 'wrong' }).connect(),
        /password authentication failed/,
      );
    } finally {
      await cluster.stop();
    }
    assert.equal(cluster.pid, undefined);
    assert.deepEqual(await readdir(parent), ['pgpass']);
  });

  it('a start that fails half-way stops the server and removes its folder', async () => {
    const before = await readdir(parent);
    // The database exists already (initdb makes `postgres`): creating it fails after the server started.
    await assert.rejects(startPostgresCluster({ ...options(), database: 'postgres' }), /already exists/);
    assert.deepEqual(await readdir(parent), before);
    assert.deepEqual(postmastersIn(parent), []);
  });
});
