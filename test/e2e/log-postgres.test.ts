// `airlock log serve --storage postgres://…` against a real PostgreSQL: the password comes from
// PGPASSFILE (never argv), appends land in the database, and a restarted log resumes from it.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeLogKey, spawnServer } from '../helpers/log-server.ts';
import { type PostgresServer, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { EntrySource } from '../helpers/write-load.ts';

const missing = postgresAvailable();

describe('airlock log serve --storage postgres://', { skip: missing }, () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  const dir = useTempDir('airlock-log-pg-');

  it('logs into PostgreSQL with the password from PGPASSFILE, and resumes from it after a restart', async () => {
    await makeLogKey(join(dir, 'log'));
    const passfile = join(dir, 'pgpass');
    await writeFile(passfile, `127.0.0.1:${server.port}:airlock:airlock:${server.password}\n`, { mode: 0o600 });
    const args = ['log', 'serve', '--data', join(dir, 'data'), '--key', join(dir, 'log.key'), '--origin', '127.0.0.1'];
    const serve = () =>
      spawnServer([...args, '--listen', '127.0.0.1:0', '--storage', server.url], { PGPASSFILE: passfile }).ready;
    const entries = new EntrySource('pg');
    const post = async (url: string, id: number) => {
      const res = await fetch(`${url}/api/v2/log/entries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: entries.request(id),
      });
      const text = await res.text();
      assert.equal(res.status, 201, text);
      return JSON.parse(text) as { logIndex: string };
    };
    let log = await serve();
    after(() => log.kill());
    assert.deepEqual(
      await Promise.all([0, 1, 2].map(async (i) => Number((await post(log.url, i)).logIndex))).then((a) => a.sort()),
      [0, 1, 2],
    );
    assert.equal(await log.stop(), 0);
    const db = await server.admin('airlock');
    assert.deepEqual((await db.query('SELECT size FROM state')).rows, [{ size: '3' }]);
    log = await serve();
    assert.equal(Number((await post(log.url, 3)).logIndex), 3);
    assert.equal(await log.stop(), 0);
    assert.deepEqual((await db.query('SELECT count(*) AS n FROM entries')).rows, [{ n: '4' }]);
    await db.end();
    const refused = await spawnServer([...args, '--storage', server.url], { PGPASSFILE: join(dir, 'absent') })
      .ready.then(() => 'served')
      .catch((err: { stderr: string }) => err.stderr);
    assert.match(refused, /cannot read the password file .*absent.*\[E_IO\]/);
  });
});
