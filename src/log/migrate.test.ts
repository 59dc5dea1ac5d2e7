// Migrating a sqlite log into a real PostgreSQL (test/helpers/postgres.ts): copied whole and verified,
// never into another log, idempotent, all or nothing, and damage on either side is caught.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFile, cp, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { postgresAvailable, usePostgres } from '../../test/helpers/postgres.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { publicKeyPem } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import { checkpointOpener, checkpointSignerFor } from './checkpoint-signer.ts';
import { LogEngine } from './engine.ts';
import { fsckLog } from './fsck.ts';
import { lastSignedFile } from './last-signed-file.ts';
import {
  type MigrationProgress,
  type MigrationTarget,
  migrateLog,
  openSqliteSource,
  type SqliteLogFiles,
  tileKeysOf,
} from './migrate.ts';
import { PostgresLogStorage } from './postgres-storage.ts';
import { SqliteLogStorage } from './sqlite-storage.ts';

const ORIGIN = 'migrate.test';
const dir = useTempDir('airlock-migrate-');

/** A sqlite log of `size` entries as `log serve --data` keeps it: log.db, checkpoint, log.pub. */
async function makeLog(name: string, size: number, tag = name): Promise<SqliteLogFiles & { dir: string }> {
  const at = join(dir, name);
  await mkdir(at);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  keys.set(at, privateKey);
  await writeFile(join(at, 'log.pub'), publicKeyPem(publicKey));
  const files = { dir: at, db: join(at, 'log.db'), checkpoint: join(at, 'checkpoint'), publicKey: join(at, 'log.pub') };
  await appendTo(
    files,
    Array.from({ length: size }, (_, i) => `${tag} entry ${i}`),
  );
  return files;
}

const keys = new Map<string, KeyObject>();

async function appendTo(files: SqliteLogFiles & { dir: string }, entries: readonly string[]): Promise<void> {
  const signer = createKeyObjectSigner(keys.get(files.dir) as KeyObject, 'ed25519', 'test log key');
  const engine = await LogEngine.open({
    storage: SqliteLogStorage.open(files.db),
    checkpoints: checkpointSignerFor(ORIGIN, signer),
    lastSigned: lastSignedFile(files.checkpoint),
  });
  for (let start = 0; start < entries.length; start += 500)
    await Promise.all(entries.slice(start, start + 500).map((e) => engine.append(Buffer.from(e))));
  await engine.close();
}

async function filesDigest(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(folder)).sort()) {
    if (name.endsWith('-wal') || name.endsWith('-shm')) continue;
    out[name] = createHash('sha256')
      .update(await readFile(join(folder, name)))
      .digest('hex');
  }
  return out;
}

describe('tileKeysOf', () => {
  it('names every full and partial tile of a tree, level by level', () => {
    const keys = (size: number) => [...tileKeysOf(size)].map((k) => `${k.level}/${k.index}:${k.width}`);
    assert.deepEqual(keys(0), []);
    assert.deepEqual(keys(1), ['0/0:1']);
    assert.deepEqual(keys(256), ['0/0:256', '1/0:1']);
    assert.deepEqual(keys(513), ['0/0:256', '0/1:256', '0/2:1', '1/0:2']);
    const big = keys(65_536 + 3);
    assert.equal(big.length, 256 + 1 + 1 + 1);
    assert.deepEqual(big.slice(-3), ['0/256:3', '1/0:256', '2/0:1']);
  });
});

describe('migrateLog into PostgreSQL', { skip: postgresAvailable() }, () => {
  const server = usePostgres();
  let schemas = 0;
  const target = (schema = `m${schemas++}`) =>
    PostgresLogStorage.open({ url: server.url, password: server.password, schema });

  async function migrate(files: SqliteLogFiles, into: MigrationTarget, onProgress?: (p: MigrationProgress) => void) {
    const source = await openSqliteSource(files);
    try {
      return await migrateLog(source, into, { batch: 100, ...(onProgress ? { onProgress } : {}) });
    } finally {
      await source.close();
    }
  }

  const rejection = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AirlockError, String(err));
    return err;
  };

  it('copies entries, tiles, state, identity, last signed checkpoint, verified; the source as it was', async () => {
    const files = await makeLog('copy', 700);
    const before = await filesDigest(files.dir);
    const into = await target();
    const seen: MigrationProgress[] = [];
    const result = await migrate(files, into, (p) => seen.push(p));
    assert.equal(result.copied, true);
    assert.equal(result.size, 700);
    assert.equal(result.tiles, [...tileKeysOf(700)].length);
    assert.equal(result.lastSignedSize, 700);
    assert.deepEqual(await filesDigest(files.dir), before);
    for (const step of ['check', 'copy', 'verify'] as const)
      assert.deepEqual(seen.filter((p) => p.step === step).at(-1), { step, done: 700, total: 700 });
    // Read back on its own: the key from the source folder, everything else from the database.
    const publicKey = createPublicKey(await readFile(files.publicKey));
    const fsck = await fsckLog(into, checkpointOpener(ORIGIN, publicKey));
    assert.deepEqual(fsck.problems, []);
    assert.equal(fsck.size, 700);
    assert.equal(await into.meta('origin'), ORIGIN);
    assert.equal(await into.meta('public-key'), publicKeyPem(publicKey));
    assert.equal(await into.lastSignedStore(() => 700).read(), await readFile(files.checkpoint, 'utf8'));
    // A re-run finds this very log there: it only verifies.
    assert.equal((await migrate(files, into)).copied, false);
    await into.close();
  });

  it('migrates a log that never grew', async () => {
    const files = await makeLog('empty', 0);
    const into = await target();
    const result = await migrate(files, into);
    assert.deepEqual([result.size, result.tiles, result.copied], [0, 0, true]);
    await into.close();
  });

  it('refuses a target holding another log, and changes nothing in it', async () => {
    const [a, b] = [await makeLog('a', 10), await makeLog('b', 12)];
    const into = await target();
    await migrate(a, into);
    const state = await into.readState();
    const err = await rejection(migrate(b, into));
    assert.equal(err.code, 'E_OUTPUT_EXISTS');
    assert.match(err.message, /holds a log of size 10 already, not this one \(size 12\)/);
    assert.ok(err.hint);
    assert.deepEqual(await into.readState(), state);
    assert.equal((await into.listEntries(0, 100)).length, 10);
    await into.close();
  });

  it('says so when the target holds this log grown since (migrated before, then served): not another log', async () => {
    const grown = await makeLog('grown', 10);
    const earlier = { ...grown, dir: join(dir, 'grown-earlier') };
    await cp(grown.dir, earlier.dir, { recursive: true });
    keys.set(earlier.dir, keys.get(grown.dir) as KeyObject);
    for (const name of ['db', 'checkpoint', 'publicKey'] as const)
      earlier[name] = grown[name].replace(grown.dir, earlier.dir);
    await appendTo(grown, ['grown entry 10', 'grown entry 11']);
    const into = await target();
    await migrate(grown, into);
    const err = await rejection(migrate(earlier, into));
    assert.equal(err.code, 'E_OUTPUT_EXISTS');
    assert.match(err.message, /holds this log \(its origin and key\) at size 12, ahead of the size 10 copied here/);
    assert.match(err.hint ?? '', /written to since/);
    await appendTo(earlier, ['forked entry 10', 'forked entry 11']);
    const forked = await rejection(migrate(earlier, into));
    assert.equal(forked.code, 'E_OUTPUT_EXISTS');
    assert.match(forked.message, /at size 12, another history than the size 12 here/);
    await into.close();
  });

  it('writes no entry when the copy fails part-way: one transaction', async () => {
    const files = await makeLog('atomic', 450);
    const into = await target();
    // The storage as is, but for a state write that fails: as a kill between the tiles and the state.
    const failing: MigrationTarget = {
      target: into.target,
      readState: () => into.readState(),
      readTile: (level, index) => into.readTile(level, index),
      readEntries: (start, end) => into.readEntries(start, end),
      listEntries: (start, end) => into.listEntries(start, end),
      findIdentities: (ids) => into.findIdentities(ids),
      meta: (name) => into.meta(name),
      lastSignedStore: (sizeOf) => into.lastSignedStore(sizeOf),
      close: () => into.close(),
      write: (work) =>
        into.write((tx) =>
          work(
            new Proxy(tx, {
              // Methods bound to the real transaction (its private fields), but for the state write.
              get: (t, key: keyof typeof tx) =>
                key === 'putState' ? () => Promise.reject(new Error('killed')) : t[key].bind(t),
            }),
          ),
        ),
    };
    await assert.rejects(migrate(files, failing), /killed/);
    assert.equal(await into.readState(), undefined);
    assert.deepEqual(await into.listEntries(0, 1000), []);
    assert.equal(await into.readTile(0, 0), undefined);
    assert.equal(await into.meta('origin'), undefined, 'nor what the log is');
    assert.equal(await into.lastSignedStore(() => 0).read(), undefined, 'nor what it signed');
    assert.equal((await migrate(files, into)).copied, true);
    await into.close();
  });

  it('catches a target changed after the copy (a tile, an entry) when run again', async () => {
    const files = await makeLog('tampered', 300);
    for (const [what, sql] of [
      ['tile', "UPDATE tiles SET data = overlay(data placing '\\x00'::bytea from 5) WHERE level = 0 AND idx = 1"],
      ['entry', "UPDATE entries SET data = 'forged' WHERE idx = 7"],
    ] as const) {
      const schema = `t_${what}`;
      const into = await target(schema);
      await migrate(files, into);
      const admin = await server.admin('airlock');
      // As the superuser, past the write-once triggers: what someone with the database's files could do.
      await admin.query(`SET session_replication_role = replica; SET search_path = ${schema}; ${sql}`);
      await admin.end();
      const err = await rejection(migrate(files, into));
      assert.equal(err.code, 'E_LOG_CORRUPT', what);
      assert.match(err.message, /does not verify/);
      await into.close();
    }
  });

  it('refuses a damaged source before writing anything', async () => {
    const files = await makeLog('damaged', 50);
    const db = new DatabaseSync(files.db);
    db.prepare('UPDATE entries SET data = ? WHERE idx = 3').run(Buffer.from('edited'));
    db.close();
    const into = await target();
    const err = await rejection(migrate(files, into));
    assert.equal(err.code, 'E_LOG_CORRUPT');
    assert.match(err.message, /entry 3: changed/);
    assert.equal(await into.readState(), undefined);
    assert.equal(await into.meta('origin'), undefined);
    await into.close();
  });

  it('refuses a source behind its last signed checkpoint (a log still being written)', async () => {
    const files = await makeLog('behind', 20);
    await copyFile(files.db, `${files.db}.at-20`);
    await appendTo(files, ['one more', 'and another']);
    await rename(`${files.db}.at-20`, files.db);
    const into = await target();
    const err = await rejection(migrate(files, into));
    assert.equal(err.code, 'E_LOG_CORRUPT');
    assert.match(err.message, /behind the last signed checkpoint \(size 22\)/);
    await into.close();
  });

  it('rolls the copy back when the source is appended to meanwhile', async () => {
    const files = await makeLog('written', 30);
    const into = await target();
    const source = await openSqliteSource(files);
    // An append landing after the snapshot was taken, before the copy commits.
    const written = { ...source, unchanged: () => appendTo(files, ['late']).then(() => source.unchanged()) };
    const err = await rejection(migrateLog(written, into));
    await source.close();
    assert.equal(err.code, 'E_UNAVAILABLE');
    assert.equal(await into.readState(), undefined);
    assert.deepEqual(await into.listEntries(0, 100), []);
    await into.close();
  });
});
