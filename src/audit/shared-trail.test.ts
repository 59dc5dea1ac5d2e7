// The audit trail in PostgreSQL (test/helpers/postgres.ts: a real server): several writers with one
// key append to one trail, readers verify it with the public key the trail keeps, and what a restored
// database or another key would do is refused.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { postgresAvailable, usePostgres } from '../../test/helpers/postgres.ts';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { keyFingerprint } from '../crypto/keys.ts';
import { PostgresLogStorage } from '../log/postgres-storage.ts';
import { AuditLog, verifyAuditLog } from './audit-log.ts';
import type { AuditEvent } from './event.ts';
import { type SharedTrail, sharedCheckpointPath } from './shared-trail.ts';

const missing = postgresAvailable();
const tempDir = useTempDirs();

const newSigner = () => createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'audit key');

const event = (station: string, n: number): AuditEvent => ({
  time: new Date(Date.UTC(2026, 11, 7, 12, 0, n)).toISOString(),
  actor: 'alice',
  host: station,
  tool: 'airlock test',
  action: 'verify',
  result: 'ok',
  subjects: [{ name: `${station}-artifact-${n}` }],
});

describe('the audit trail in PostgreSQL', { skip: missing }, () => {
  const server = usePostgres();
  let schemas = 0;
  /** A trail of its own per test: a schema in the one database. */
  const trail = (extra: Partial<SharedTrail> = {}): SharedTrail => {
    const schema = `audit_${++schemas}`;
    return {
      open: () => PostgresLogStorage.open({ url: server.url, password: server.password, schema }),
      origin: 'audit.test-db',
      ...extra,
    };
  };
  /** Runs SQL as the superuser in `schema`, write-once triggers off: someone with the database's keys. */
  const tamper = async (schema: string, sql: string) => {
    const db = await server.admin('airlock');
    try {
      await db.query(`SET search_path = ${schema}; SET session_replication_role = replica; ${sql}`);
    } finally {
      await db.end();
    }
  };

  it('takes appends from several stations at once and verifies them from a machine with no key', async () => {
    const shared = trail();
    const signer = newSigner();
    const stations = await Promise.all(['a', 'b', 'c'].map(() => tempDir('airlock-station-')));
    const logs = await Promise.all(stations.map((home) => AuditLog.openShared(home, shared, signer)));
    await Promise.all(
      logs.map(async (log, s) => {
        for (let n = 0; n < 8; n++) await Promise.all([log.append(event(`s${s}`, n)), log.append(event(`t${s}`, n))]);
      }),
    );
    await Promise.all(logs.map((l) => l.close()));
    const reader = await tempDir('airlock-reader-');
    const v = await verifyAuditLog(reader, { shared });
    assert.deepEqual(v.problems, []);
    assert.equal(v.size, 48);
    assert.equal(v.origin, 'audit.test-db');
    assert.equal(v.keyFingerprint, keyFingerprint(signer.publicKey));
    assert.match(v.where, /^airlock@127\.0\.0\.1:\d+\/airlock$/);
    const names = v.events.map((e) => e.event.subjects[0]?.name).sort();
    assert.equal(new Set(names).size, 48);
    // Each station kept the last checkpoint it signed, and it verifies there too.
    for (const home of stations) {
      const kept = await readFile(sharedCheckpointPath(home, 'audit.test-db'), 'utf8');
      assert.match(kept, /^audit\.test-db\n\d+\n/);
      assert.equal((await verifyAuditLog(home, { shared })).ok, true);
    }
  });

  it('verifies while stations append: what they write meanwhile is no problem', async () => {
    const shared = trail();
    const signer = newSigner();
    const homes = await Promise.all([0, 1, 2].map(() => tempDir('airlock-station-')));
    const logs = await Promise.all(homes.slice(0, 2).map((home) => AuditLog.openShared(home, shared, signer)));
    await logs[0]?.append(event('first', 0));
    let writing = true;
    const writers = logs.map(async (log, s) => {
      for (let n = 0; writing; n++) await log.append(event(`w${s}`, n));
    });
    const verdicts = [];
    for (let i = 0; i < 6; i++) verdicts.push(await verifyAuditLog(homes[2] as string, { shared }));
    writing = false;
    await Promise.all(writers);
    await Promise.all(logs.map((l) => l.close()));
    assert.deepEqual(
      verdicts.flatMap((v) => v.problems),
      [],
    );
    assert.ok((await verifyAuditLog(homes[2] as string, { shared })).size > 1);
  });

  it('is fixed to the first writer: another key is E_KEY_MISMATCH, another required origin E_USAGE', async () => {
    const shared = trail();
    const signer = newSigner();
    const home = await tempDir('airlock-station-');
    await (await AuditLog.openShared(home, shared, signer)).close();
    await assert.rejects(AuditLog.openShared(home, shared, newSigner()), { code: 'E_KEY_MISMATCH' });
    await assert.rejects(
      AuditLog.openShared(home, { ...shared, origin: 'audit.other', originRequired: true }, signer),
      {
        code: 'E_USAGE',
        message: /is named audit\.test-db, not audit\.other/,
      },
    );
    // An origin only proposed is the first writer's to choose: later ones join the trail as it is named.
    const joined = await AuditLog.openShared(home, { ...shared, origin: 'audit.other' }, signer);
    assert.equal(joined.origin, 'audit.test-db');
    await joined.close();
  });

  it('has no trail to verify in an empty database: E_INPUT_MISSING', async () => {
    await assert.rejects(verifyAuditLog(await tempDir('airlock-reader-'), { shared: trail() }), {
      code: 'E_INPUT_MISSING',
      message: /no audit trail in airlock@/,
    });
  });

  it('names an edited event, and a restored older database on the machines that wrote past it', async () => {
    const shared = trail();
    const schema = `audit_${schemas}`;
    const signer = newSigner();
    const [station, reader] = await Promise.all([tempDir('airlock-station-'), tempDir('airlock-reader-')]);
    let log = await AuditLog.openShared(station, shared, signer);
    for (let n = 0; n < 3; n++) await log.append(event('a', n));
    await log.close();
    await tamper(schema, 'CREATE TABLE saved_entries AS TABLE entries; CREATE TABLE saved_tiles AS TABLE tiles;');
    await tamper(schema, 'CREATE TABLE saved_state AS TABLE state; CREATE TABLE saved_cps AS TABLE checkpoints;');
    log = await AuditLog.openShared(station, shared, signer);
    for (let n = 3; n < 6; n++) await log.append(event('a', n));
    await log.close();

    await tamper(
      schema,
      "UPDATE entries SET data = convert_to(replace(convert_from(data, 'UTF8'), 'alice', 'mallory'), 'UTF8') " +
        'WHERE idx = 4',
    );
    const edited = await verifyAuditLog(reader, { shared });
    assert.equal(edited.ok, false);
    assert.deepEqual([...new Set(edited.problems.flatMap((p) => (p.index === undefined ? [] : [p.index])))], [4]);

    // The whole database as it was at size 3, checkpoints table and all: only a writer's own record shows it.
    const restore = (t: string) =>
      `DELETE FROM ${t}; INSERT INTO ${t} SELECT * FROM saved_${t === 'checkpoints' ? 'cps' : t};`;
    await tamper(schema, ['entries', 'tiles', 'state', 'checkpoints'].map(restore).join(' '));
    assert.equal((await verifyAuditLog(reader, { shared })).ok, true);
    const v = await verifyAuditLog(station, { shared });
    assert.equal(v.ok, false);
    assert.match(
      v.problems.map((p) => p.problem).join('\n'),
      /this machine signed .* is at size 6, but the log holds 3/,
    );
    await assert.rejects(AuditLog.openShared(station, shared, signer), { code: 'E_LOG_ROLLBACK' });
  });
});
