// `airlock log serve --storage postgres://…` against a real PostgreSQL: the password comes from
// PGPASSFILE (never argv), appends land in the database, and a restarted log resumes from it.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeLogKey, spawnServer } from '../helpers/log-server.ts';
import { postgresAvailable, usePostgres } from '../helpers/postgres.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { EntrySource } from '../helpers/write-load.ts';

const missing = postgresAvailable();

describe('airlock log serve --storage postgres://', { skip: missing }, () => {
  const server = usePostgres();
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
  /** A database of its own, a key, and `serve(name)` starting a log serve process on it with --data DIR/name. */
  async function pairOn(database: string) {
    const home = join(dir, database);
    await mkdir(home);
    await makeLogKey(join(home, 'log'));
    const passfile = join(home, 'pgpass');
    await writeFile(passfile, `127.0.0.1:${server.port}:${database}:airlock:${server.password}\n`, { mode: 0o600 });
    const db = await server.admin();
    await db.query(`CREATE DATABASE ${database} OWNER airlock`);
    await db.end();
    const args = ['log', 'serve', '--key', join(home, 'log.key'), '--origin', '127.0.0.1', '--listen', '127.0.0.1:0'];
    const url = server.url.replace(/\/airlock$/, `/${database}`);
    const serve = async (name: string) => {
      const log = await spawnServer([...args, '--data', join(home, name), '--storage', url], { PGPASSFILE: passfile })
        .ready;
      after(() => log.kill());
      return log;
    };
    return { serve };
  }

  const entries = new EntrySource('pair');
  const post = (at: string, id: number) =>
    fetch(`${at}/api/v2/log/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: entries.request(id),
    });
  const role = async (at: string) => ((await (await fetch(`${at}/healthz`)).json()) as { role: string }).role;
  const sizeAt = async (at: string) => Number((await (await fetch(`${at}/checkpoint`)).text()).split('\n')[1]);
  /** Retries `attempt` every 50 ms until `done` says so or 30 s passed; the last answer. */
  async function until<T>(attempt: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    let value = await attempt();
    for (let i = 0; i < 600 && !done(value); i++) {
      await new Promise((r) => setTimeout(r, 50));
      value = await attempt();
    }
    return value;
  }

  it('two processes on one database: one sequences, the other stands by, follows it and takes over', async () => {
    const { serve } = await pairOn('pair');
    const first = await serve('a');
    const second = await serve('b');
    assert.deepEqual([await role(first.url), await role(second.url)], ['sequencer', 'standby']);
    assert.equal((await post(first.url, 0)).status, 201);
    const refused = await post(second.url, 1);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(((await refused.json()) as { code: string }).code, 'E_NOT_SEQUENCER');
    // The standby follows: its checkpoint reaches the sequencer's size.
    assert.equal(
      await until(
        () => sizeAt(second.url),
        (n) => n >= 1,
      ),
      1,
    );
    await first.kill();
    const answered = await until(
      () => post(second.url, 1),
      (r) => r.status !== 503,
    );
    assert.equal(answered.status, 201, await answered.text());
    assert.equal(await role(second.url), 'sequencer');
    assert.equal(await second.stop(), 0);
  });

  it('a stalled sequencer (SIGSTOP) loses its session and the lock; resumed, it is fenced and stands by', async () => {
    const { serve } = await pairOn('stall');
    const first = await serve('a');
    const second = await serve('b');
    assert.equal((await post(first.url, 10)).status, 201);
    first.child.kill('SIGSTOP');
    try {
      // The server ends the frozen process's idle session (idle_session_timeout, 10 s): the lock goes with it.
      const answered = await until(
        () => post(second.url, 11),
        (r) => r.status !== 503,
      );
      assert.equal(answered.status, 201, await answered.text());
    } finally {
      first.child.kill('SIGCONT');
    }
    assert.equal(
      await until(
        () => role(first.url),
        (r) => r === 'standby',
      ),
      'standby',
    );
    const refused = await post(first.url, 12);
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { code: string }).code, 'E_NOT_SEQUENCER');
    assert.ok(
      first.lines().some((l) => l.msg === 'standby' && l.level === 'warn'),
      'it says it stood down, and why',
    );
    assert.equal((await post(second.url, 12)).status, 201);
    assert.equal(
      await until(
        () => sizeAt(first.url),
        (n) => n >= 3,
      ),
      3,
      'and follows the new sequencer',
    );
  });
});
