// The log engine over real node:sqlite storage: acknowledgements, witnesses, and the refusals (a changed
// tile, a rolled-back database). What every storage driver must give the engine (group commit, proofs,
// duplicates, reopening, several writers on one database) is in test/helpers/log-storage-conformance.ts.
import assert from 'node:assert/strict';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { type CheckpointSigner, LogEngine, type LogEngineOptions } from './engine.ts';
import { lastSignedFile } from './last-signed-file.ts';
import { SqliteLogStorage } from './sqlite-storage.ts';
import { generateKeyPairSync } from 'node:crypto';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { checkpointSignerFor } from './checkpoint-signer.ts';
import { AirlockError } from '../errors.ts';
import { orAfter } from '../../test/helpers/or-after.ts';

const dir = useTempDir('airlock-engine-');
let n = 0;

const testCheckpointSigner = (origin: string) =>
  checkpointSignerFor(origin, createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test'));
const signer = testCheckpointSigner('log.example');
async function openLog(
  name: string,
  options: {
    checkpoints?: CheckpointSigner;
    maxBatch?: number;
    cacheTiles?: number;
    witness?: (note: string) => Promise<string>;
    onBatch?: LogEngineOptions['onBatch'];
  } = {},
) {
  return LogEngine.open({
    storage: SqliteLogStorage.open(join(dir, `${name}.db`)),
    checkpoints: options.checkpoints ?? signer,
    lastSigned: lastSignedFile(join(dir, `${name}.checkpoint`)),
    ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
    ...(options.cacheTiles ? { cacheTiles: options.cacheTiles } : {}),
    ...(options.witness ? { witness: options.witness } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  });
}
const fresh = () => `log-${n++}`;
const entry = (i: number) => Buffer.from(`entry ${i}`);

describe('LogEngine', () => {
  it(
    'storage changed behind a running log: a state its checkpoint does not sign, or a duplicate ' +
      'found beyond the tree, is refused',
    async () => {
      const name = fresh();
      const log = await openLog(name);
      await log.append(entry(1));
      await log.append(entry(2));
      const db = new DatabaseSync(join(dir, `${name}.db`));
      try {
        // Another size with the same checkpoint text: what a batch of duplicates would answer with.
        db.prepare("UPDATE state SET checkpoint = checkpoint || '' , root = ? WHERE id = 1").run(Buffer.alloc(32, 7));
        await assert.rejects(log.append(entry(1)), { code: 'E_LOG_CORRUPT' }, 'a root the checkpoint does not sign');
      } finally {
        db.close();
      }
      await log.close();
      const other = fresh();
      const second = await openLog(other);
      await second.append(entry(1));
      const db2 = new DatabaseSync(join(dir, `${other}.db`));
      try {
        // The row moved past the end of the tree (its index no longer under the checkpoint).
        db2.prepare('UPDATE entries SET idx = 5 WHERE idx = 0').run();
        await assert.rejects(second.append(entry(1)), { code: 'E_LOG_CORRUPT', message: /beyond the log's size/ });
      } finally {
        db2.close();
      }
      await second.close();
    },
  );

  it('refuses to open with another key (E_LOG_CORRUPT)', async () => {
    const name = fresh();
    const log = await openLog(name);
    await log.append(entry(0));
    await log.close();
    await assert.rejects(openLog(name, { checkpoints: testCheckpointSigner('log.example') }), {
      code: 'E_LOG_CORRUPT',
      message: /does not open with this log's key/,
    });
  });

  // Attack: someone with write access to the database changes a logged hash.
  it('refuses to open when a tile was changed (E_LOG_CORRUPT)', async () => {
    const name = fresh();
    const log = await openLog(name);
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(entry(i))));
    await log.close();
    const db = new DatabaseSync(join(dir, `${name}.db`));
    const row = db.prepare('SELECT data FROM tiles WHERE level = 0 AND idx = 0').get() as { data: Uint8Array };
    const data = Buffer.from(row.data);
    data[40]! ^= 1;
    db.prepare('UPDATE tiles SET data = ? WHERE level = 0 AND idx = 0').run(data);
    db.close();
    await assert.rejects(openLog(name), { code: 'E_LOG_CORRUPT', message: /tile 0\/0 does not re-derive/ });
  });

  // Attack or accident: the database is restored from an older backup after checkpoints were published.
  it('refuses to run on a database behind its last signed checkpoint (E_LOG_ROLLBACK)', async () => {
    const name = fresh();
    const log = await openLog(name);
    await log.append(entry(0));
    await log.close();
    await copyFile(join(dir, `${name}.db`), join(dir, `${name}.backup`));
    const again = await openLog(name);
    await again.append(entry(1));
    await again.close();
    await copyFile(join(dir, `${name}.backup`), join(dir, `${name}.db`));
    await rm(join(dir, `${name}.db-wal`), { force: true });
    await rm(join(dir, `${name}.db-shm`), { force: true });
    await assert.rejects(openLog(name), {
      code: 'E_LOG_ROLLBACK',
      message: /behind the checkpoint it signed at size 2/,
    });
  });

  it('refuses to run when the last-signed record is missing for a non-empty log (E_LOG_ROLLBACK)', async () => {
    const name = fresh();
    const log = await openLog(name);
    await log.append(entry(1));
    await log.close();
    await rm(join(dir, `${name}.checkpoint`));
    // Deleting the record must not launder a restored older database.
    await assert.rejects(openLog(name), { code: 'E_LOG_ROLLBACK' });
  });

  it('answers a retry only once the checkpoint it is answered with is on record', async () => {
    const storage = SqliteLogStorage.open(join(dir, `${fresh()}.db`));
    let kept: string | undefined;
    let failing = false;
    const lastSigned = {
      read: async () => kept,
      write: async (note: string) => {
        if (failing) throw new Error('disk full');
        kept = note;
      },
    };
    const log = await LogEngine.open({ storage, checkpoints: signer, lastSigned });
    failing = true;
    await assert.rejects(log.append(entry(1)), /disk full/);
    assert.equal(log.size, 0, 'not published: its checkpoint is not on record');
    // The retry is a duplicate of what is durable: it is recorded before it is answered.
    await assert.rejects(log.append(entry(1)), /disk full/);
    failing = false;
    const r = await log.append(entry(1));
    assert.deepEqual([r.index, r.duplicate, r.size], [0, true, 1]);
    assert.equal(signer.open(kept as string).size, 1);
    assert.equal(log.size, 1);
    await log.close();
  });

  // A metrics callback is no part of logging: one that throws must not stop the batches after it, nor
  // leave their callers waiting for an answer that never comes.
  it('a metrics callback that throws leaves no append unanswered, in this batch or any later one', async () => {
    let calls = 0;
    const log = await openLog(fresh(), {
      maxBatch: 4,
      onBatch: () => {
        calls++;
        throw new Error('metrics exploded');
      },
    });
    const settled = await orAfter(
      Promise.allSettled(Array.from({ length: 40 }, (_, i) => log.append(entry(i)))),
      5000,
      'hung' as const,
    );
    assert.notEqual(settled, 'hung', 'every append settles');
    assert.deepEqual(
      (settled as PromiseSettledResult<unknown>[]).map((r) => r.status),
      Array(40).fill('fulfilled'),
      'each append is durable and signed: the callback failing changes nothing',
    );
    assert.ok(calls >= 10, 'every batch reported');
    assert.equal((await log.append(entry(40))).index, 40, 'the log still takes appends');
    await log.close();
  });

  it('refuses entries larger than a tile bundle can hold', async () => {
    const log = await openLog(fresh());
    await assert.rejects(log.append(Buffer.alloc(70_000)), { code: 'E_INPUT_MALFORMED' });
    await log.close();
  });

  describe('with a witness step', () => {
    const cosign = (note: string) => `${note}— witness.example AAAAAAAA\n`;

    it('answers with and publishes the witnessed note, after the log-signed one is on record', async () => {
      const name = fresh();
      const kept = lastSignedFile(join(dir, `${name}.checkpoint`));
      const seen: string[] = [];
      const log = await openLog(name, {
        witness: async (note) => {
          // Recorded before it leaves the log: a witness must never see a checkpoint the log could forget.
          assert.equal(await kept.read(), note);
          seen.push(note);
          return cosign(note);
        },
      });
      const results = await Promise.all([0, 1, 2].map((i) => log.append(entry(i))));
      for (const r of results) {
        assert.ok(r.checkpoint.endsWith('— witness.example AAAAAAAA\n'), r.checkpoint);
        assert.equal(signer.open(r.checkpoint).size, r.size);
      }
      assert.equal(log.checkpoint, cosign(seen.at(-1) as string));
      assert.ok(!(await kept.read())?.includes('witness.example'), 'the record keeps what the log signed');
      await log.close();
    });

    it(
      'a checkpoint the witnesses refuse answers no one and is not published; a retry is answered ' +
        'once they cosign',
      async () => {
        let refuse = true;
        const log = await openLog(fresh(), {
          witness: async (note) => {
            if (refuse) throw new AirlockError('E_UNAVAILABLE', 'no quorum');
            return cosign(note);
          },
        });
        const before = log.checkpoint;
        await assert.rejects(log.append(entry(1)), { code: 'E_UNAVAILABLE', message: 'no quorum' });
        assert.equal(log.checkpoint, before, 'nothing new published');
        assert.equal(log.size, 0, 'size is what was published');
        refuse = false;
        const retry = await log.append(entry(1));
        assert.deepEqual([retry.index, retry.duplicate, retry.size], [0, true, 1]);
        assert.ok(retry.checkpoint.endsWith('— witness.example AAAAAAAA\n'));
        await log.close();
      },
    );

    it('witnessLatest has a reopened log publish its checkpoint witnessed before any write', async () => {
      const name = fresh();
      const plain = await openLog(name);
      await Promise.all([0, 1, 2].map((i) => plain.append(entry(i))));
      const signed = plain.checkpoint;
      await plain.close();
      const log = await openLog(name, { witness: async (note) => cosign(note) });
      assert.equal(log.checkpoint, signed);
      await log.witnessLatest();
      assert.equal(log.checkpoint, cosign(signed));
      await log.close();
    });
  });
});
