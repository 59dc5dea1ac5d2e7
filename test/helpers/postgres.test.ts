// The PostgreSQL test server itself: the test role logs in with its password over TCP, a committed row
// survives a SIGKILL of the whole server, and stopping leaves no process and no folder behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import pg from 'pg';
import { postgresAvailable, startPostgres } from './postgres.ts';

const missing = postgresAvailable();

describe('startPostgres', { skip: missing }, () => {
  it('serves the test role by password, keeps a committed row across a crash, and stops clean', async () => {
    const server = await startPostgres();
    const dirs: string[] = [];
    try {
      const client = new pg.Client(server.config());
      await client.connect();
      await client.query('CREATE TABLE t (v text)');
      await client.query("INSERT INTO t VALUES ('durable')");
      await assert.rejects(
        new pg.Client({ ...server.config(), password: 'wrong' }).connect(),
        /password authentication failed/,
      );
      client.on('error', () => {});
      await server.kill();
      await assert.rejects(client.query('SELECT 1'));
      await server.restart();
      const again = new pg.Client(server.config());
      await again.connect();
      assert.deepEqual((await again.query('SELECT v FROM t')).rows, [{ v: 'durable' }]);
      const admin = await server.admin();
      const settings = await admin.query("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'port')");
      assert.deepEqual(Object.fromEntries(settings.rows.map((r) => [r.name, r.setting])), {
        fsync: 'on',
        port: String(server.port),
      });
      dirs.push((await admin.query('SHOW data_directory')).rows[0].data_directory);
      await admin.end();
      await again.end();
    } finally {
      await server.stop();
    }
    assert.equal(dirs.length, 1);
    assert.equal(existsSync(dirs[0] as string), false, 'the data folder is removed');
    await assert.rejects(new pg.Client({ host: '127.0.0.1', port: server.port, user: 'airlock' }).connect(), {
      code: 'ECONNREFUSED',
    });
  });
});
