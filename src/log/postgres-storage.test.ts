// The PostgreSQL driver against a real server (test/helpers/postgres.ts): the conformance suite every
// storage driver passes, then what only a server shows: writers in several connections at once, a
// crash of the server, and the refusals at open.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeStorageConformance } from '../../test/helpers/log-storage-conformance.ts';
import { openLogStorage, postgresAvailable, usePostgres } from '../../test/helpers/postgres.ts';
import { freePort } from '../../test/helpers/process.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import type { AirlockError } from '../errors.ts';
import { checkpointSignerFor } from './checkpoint-signer.ts';
import { entryIdentity, LogEngine } from './engine.ts';
import { lastSignedFile } from './last-signed-file.ts';
import { leafHash, verifyInclusion } from './merkle.ts';
import { PostgresLogStorage } from './postgres-storage.ts';

const missing = postgresAvailable();
const server = usePostgres();

const open = (schema: string) => openLogStorage(server, schema);

describeStorageConformance('PostgreSQL', { open }, missing);

describe('PostgresLogStorage on a server', { skip: missing }, () => {
  const dir = useTempDir('airlock-pg-storage-');

  it('writers in several connections at once wait for each other: no state update is lost', async () => {
    const storages = await Promise.all([0, 1, 2, 3].map(() => open('concurrent')));
    await Promise.all(
      storages.map(async (s, who) => {
        for (let i = 0; i < 10; i++) {
          await s.write(async (tx) => {
            const size = (await tx.readState())?.size ?? 0;
            const data = Buffer.from(`writer ${who} entry ${i}`);
            await tx.appendEntries(size, [{ data, identity: entryIdentity(data) }]);
            await tx.putState({ size: size + 1, root: Buffer.alloc(32), checkpoint: `size ${size + 1}` });
          });
        }
      }),
    );
    assert.equal((await storages[0]?.readState())?.size, 40);
    assert.equal((await storages[0]?.readEntries(0, 100))?.length, 40);
    await Promise.all(storages.map((s) => s.close()));
  });

  it('refuses a password in the URL, unknown parameters and a wrong password, never quoting the password', async () => {
    const secret = 'hunter2-secret';
    const withPassword = server.url.replace('airlock@', `airlock:${secret}@`);
    for (const [url, code] of [
      [withPassword, 'E_USAGE'],
      [`${server.url}?sslcompression=1`, 'E_USAGE'],
      ['mysql://airlock@127.0.0.1/airlock', 'E_USAGE'],
    ] as const) {
      await assert.rejects(PostgresLogStorage.open({ url, password: server.password }), (err: AirlockError) => {
        assert.equal(err.code, code);
        assert.ok(!err.message.includes(secret), err.message);
        return true;
      });
    }
    await assert.rejects(PostgresLogStorage.open({ url: server.url, password: secret }), (err: AirlockError) => {
      assert.equal(err.code, 'E_UNAVAILABLE');
      assert.match(err.message, /password authentication failed/);
      assert.ok(!err.message.includes(secret), err.message);
      return true;
    });
    const noDatabase = server.url.replace(/\/airlock$/, '/nosuch');
    await assert.rejects(PostgresLogStorage.open({ url: noDatabase, password: server.password }), {
      code: 'E_UNAVAILABLE',
      message: /database "nosuch" does not exist/,
      hint: /the database exists/,
    });
    const closed = server.url.replace(`:${server.port}/`, `:${await freePort()}/`);
    await assert.rejects(PostgresLogStorage.open({ url: closed, password: server.password }), {
      code: 'E_UNAVAILABLE',
      message: /is unavailable: .*ECONNREFUSED/,
    });
  });

  it('reads the password from a password file when the server asks for one, and says when none was given', async () => {
    const passfile = join(dir, 'pgpass');
    await writeFile(passfile, `127.0.0.1:${server.port}:airlock:airlock:${server.password}\n`, { mode: 0o600 });
    const storage = await PostgresLogStorage.open({ url: server.url, passfile, schema: 'passfile' });
    assert.equal(await storage.readState(), undefined);
    await storage.close();
    await assert.rejects(PostgresLogStorage.open({ url: server.url }), {
      code: 'E_USAGE',
      message: /asks for a password, and none was given/,
    });
  });

  it('refuses a server that may lose acknowledged commits or takes no writes, and a newer schema', async () => {
    const admin = await server.admin();
    try {
      await admin.query('ALTER ROLE airlock SET synchronous_commit = off');
      await assert.rejects(open('lossy'), { code: 'E_UNSUPPORTED', message: /synchronous_commit=off/ });
      await admin.query('ALTER ROLE airlock RESET synchronous_commit');
      await (await open('newer')).close();
      const db = await server.admin('airlock');
      await db.query('UPDATE newer.log_schema SET version = 3');
      await db.end();
      await assert.rejects(open('newer'), { code: 'E_UNSUPPORTED', message: /schema version 3/ });
      // What a hot standby answers, as a role set read-only does.
      await admin.query('ALTER ROLE airlock SET default_transaction_read_only = on');
      await assert.rejects(open('standby'), { code: 'E_IO', message: /read-only transaction/, hint: /hot standby/ });
    } finally {
      await admin.query('ALTER ROLE airlock RESET ALL');
      await admin.end();
    }
  });

  it('keeps meta data and signed checkpoints write-once, also against SQL that edits them', async () => {
    const storage = await open('write_once');
    assert.equal(await storage.meta('origin'), undefined);
    assert.equal(await storage.claimMeta('origin', 'first'), 'first');
    assert.equal(await storage.claimMeta('origin', 'second'), 'first', 'the first opener fixes it');
    const signed = storage.lastSignedStore((note) => Number(note.split('\n')[1]));
    assert.equal(await signed.read(), undefined);
    await signed.write('log\n5\nroot5\n');
    await signed.write('log\n3\nroot3\n');
    await signed.write('log\n5\nanother\n');
    assert.equal(await signed.read(), 'log\n5\nroot5\n', 'the largest size, as first recorded');
    const db = await server.admin('airlock');
    try {
      for (const sql of [
        "UPDATE write_once.checkpoints SET note = 'x'",
        'DELETE FROM write_once.checkpoints',
        "UPDATE write_once.meta SET value = 'x'",
      ]) {
        await assert.rejects(db.query(sql), /never changed or deleted/, sql);
      }
    } finally {
      await db.end();
    }
    await storage.close();
  });

  it('opens read-only for a role that may only SELECT, creating nothing', async () => {
    const storage = await open('readers');
    const data = Buffer.from('one');
    await storage.write(async (tx) => {
      await tx.appendEntries(0, [{ data, identity: entryIdentity(data) }]);
      await tx.putState({ size: 1, root: Buffer.alloc(32), checkpoint: 'size 1' });
    });
    await storage.close();
    const admin = await server.admin('airlock');
    await admin.query("CREATE ROLE auditor LOGIN PASSWORD 'auditor-pw'");
    await admin.query('GRANT USAGE ON SCHEMA readers TO auditor');
    await admin.query('GRANT SELECT ON ALL TABLES IN SCHEMA readers TO auditor');
    await admin.end();
    const url = server.url.replace('airlock@', 'auditor@');
    const as = (schema: string, readOnly?: boolean) =>
      PostgresLogStorage.open({ url, password: 'auditor-pw', schema, ...(readOnly ? { readOnly } : {}) });
    await assert.rejects(as('readers'), { code: 'E_IO' }, 'a writer prepares the tables, which it may not');
    const reader = await as('readers', true);
    assert.equal((await reader.readState())?.size, 1);
    assert.equal(Buffer.from((await reader.readEntries(0, 1))[0] ?? []).toString(), 'one');
    await assert.rejects(
      reader.write((tx) => tx.putState({ size: 0, root: Buffer.alloc(32), checkpoint: '' })),
      { code: 'E_INTERNAL', message: /opened read-only/ },
    );
    await reader.close();
    await assert.rejects(as('nothing_here', true), { code: 'E_INPUT_MISSING', message: /holds no log/ });
    const outsider = await server.admin('airlock');
    await outsider.query("CREATE ROLE outsider LOGIN PASSWORD 'outsider-pw'");
    await outsider.end();
    const asOutsider = () =>
      PostgresLogStorage.open({
        url: server.url.replace('airlock@', 'outsider@'),
        password: 'outsider-pw',
        schema: 'readers',
        readOnly: true,
      });
    await assert.rejects(asOutsider(), {
      code: 'E_IO',
      message: /role outsider may not read the schema readers/,
      hint: /GRANT USAGE ON SCHEMA readers TO outsider/,
    });
  });

  // Last: it crashes the server the other tests share.
  it('a crash of the server loses no acknowledged append; meanwhile appends fail E_UNAVAILABLE', async () => {
    const signer = checkpointSignerFor(
      'log.example',
      createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test'),
    );
    const engine = async () =>
      LogEngine.open({
        storage: await open('crash'),
        checkpoints: signer,
        lastSigned: lastSignedFile(join(dir, 'crash.checkpoint')),
      });
    const entry = (i: number) => Buffer.from(`entry ${i}`);
    let log = await engine();
    const acknowledged = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(entry(i))));
    const raw = await open('crash_raw');
    const crashed = raw.write(async (tx) => {
      await tx.appendEntries(0, [{ data: entry(0), identity: entryIdentity(entry(0)) }]);
      await server.kill(); // between the queries of a write: the connection drops under it
      await tx.putState({ size: 1, root: Buffer.alloc(32), checkpoint: 'size 1' });
    });
    await assert.rejects(crashed, { code: 'E_UNAVAILABLE' });
    await assert.rejects(log.append(entry(50)), { code: 'E_UNAVAILABLE' });
    await server.restart();
    assert.equal((await log.append(entry(51))).index, 50, 'the log appends again once the server is back');
    await log.close();
    assert.deepEqual(await raw.readEntries(0, 5), [], 'the interrupted write left nothing');
    await raw.close();
    log = await engine();
    const { size, root } = signer.open(log.checkpoint);
    assert.equal(size, 51);
    for (const [i, r] of acknowledged.entries()) {
      assert.ok(verifyInclusion(r.index, size, leafHash(entry(i)), await log.inclusionProof(r.index, size), root));
    }
    await log.close();
  });
});
