// One conformance suite for every log storage driver (storage.ts): the contract itself (a write lands
// whole or not at all, duplicates reported, ranges, a second connection seeing the first's commits),
// then the log engine over the driver (appends, proofs from stored tiles, duplicates, reopening where
// it stopped, tiles and bundles, two engines on one database). Each driver's test file runs it:
//   describeStorageConformance('node:sqlite', { open: (name) => … })
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { checkpointSignerFor } from '../../src/log/checkpoint-signer.ts';
import { entryIdentity, LogEngine, type LogEngineOptions } from '../../src/log/engine.ts';
import { lastSignedFile } from '../../src/log/last-signed-file.ts';
import { leafHash, verifyConsistency, verifyInclusion } from '../../src/log/merkle.ts';
import type { LogState, LogStorage, NewEntry, StoredTile } from '../../src/log/storage.ts';
import { useTempDir } from './temp-dir.ts';

export interface StorageDriver {
  /**
   * The storage named `name` (a lower-case identifier), created when new. Opening a name again is a
   * second connection to the same log, as another process's would be.
   */
  open(name: string): Promise<LogStorage>;
}

const signer = checkpointSignerFor(
  'log.example',
  createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test'),
);
/** An entry to append, with the identity the engine would give it. */
export const newEntryOf = (text: string): NewEntry => {
  const data = Buffer.from(text);
  return { data, identity: entryIdentity(data) };
};
const entry = (i: number) => Buffer.from(`entry ${i}`);
const newEntry = (i: number): NewEntry => newEntryOf(`entry ${i}`);
const state = (size: number): LogState => ({ size, root: Buffer.alloc(32, size), checkpoint: `checkpoint ${size}` });
const tile = (index: number, width: number): StoredTile => ({ level: 0, index, width, bytes: Buffer.alloc(32, width) });
const texts = (rows: readonly Uint8Array[]) => rows.map((r) => Buffer.from(r).toString());

/** Opens storages by name, each closed after the suite (a second close of one already closed is ignored). */
function opener(driver: StorageDriver, prefix: string): (name?: string) => Promise<LogStorage> & { name: string } {
  const opened: LogStorage[] = [];
  let n = 0;
  after(() => Promise.all(opened.map((s) => s.close().catch(() => undefined))));
  return (name = `${prefix}_${n++}`) => {
    const storage = driver.open(name).then((s) => (opened.push(s), s));
    return Object.assign(storage, { name });
  };
}

export function describeStorageConformance(driverName: string, driver: StorageDriver, skip?: string): void {
  describe(`log storage conformance: ${driverName}`, { skip }, () => {
    describe('the storage contract', () => {
      const open = opener(driver, 'contract');
      storageWrites(open);
      storageConnections(open);
    });
    describe('the log engine over it', () => {
      const engine = engineOpener(opener(driver, 'engine'));
      engineAppends(engine);
      engineReads(engine);
    });
  });
}

type Opener = ReturnType<typeof opener>;

function storageWrites(open: Opener): void {
  it('a fresh storage is empty', async () => {
    const s = await open();
    assert.equal(await s.readState(), undefined);
    assert.deepEqual(await s.readEntries(0, 10), []);
    assert.deepEqual(await s.listEntries(0, 10), []);
    assert.equal(await s.readTile(0, 0), undefined);
    assert.deepEqual(await s.findIdentities([newEntry(0).identity]), new Map());
  });

  it('a write lands whole, unseen by plain reads until it commits, and is there after reopening', async () => {
    const first = open();
    const s = await first;
    const appended = await s.write(async (tx) => {
      const out = await tx.appendEntries(0, [0, 1, 2].map(newEntry));
      await tx.putTiles([tile(0, 3)]);
      await tx.putState(state(3));
      assert.equal((await tx.readState())?.size, 3, 'the transaction sees its own writes');
      assert.equal(texts(await tx.readEntries(0, 5)).length, 3);
      assert.equal(await s.readState(), undefined, 'plain reads see committed data only');
      assert.deepEqual(await s.readEntries(0, 5), []);
      return out;
    });
    assert.deepEqual(
      appended,
      [0, 1, 2].map((index) => ({ index, duplicate: false })),
    );
    await s.close();
    const again = await open(first.name);
    assert.deepEqual(await again.readState(), state(3));
    assert.deepEqual(texts(await again.readEntries(0, 10)), ['entry 0', 'entry 1', 'entry 2']);
    assert.deepEqual(
      (await again.listEntries(1, 3)).map((e) => [e.index, Buffer.from(e.data).toString()]),
      [
        [1, 'entry 1'],
        [2, 'entry 2'],
      ],
    );
    const t = await again.readTile(0, 0);
    assert.deepEqual([t?.width, Buffer.from(t?.bytes ?? [])], [3, Buffer.alloc(32, 3)]);
    const ids = await again.findIdentities([newEntry(2).identity, newEntry(9).identity]);
    assert.deepEqual([...ids], [[Buffer.from(newEntry(2).identity).toString('hex'), 2]]);
  });

  it('appendEntries reports duplicates, stored before or earlier in the call, indices staying contiguous', async () => {
    const s = await open();
    await s.write((tx) => tx.appendEntries(0, [newEntry(0), newEntry(1)]));
    const out = await s.write((tx) => tx.appendEntries(2, [2, 0, 2, 3].map(newEntry)));
    assert.deepEqual(out, [
      { index: 2, duplicate: false },
      { index: 0, duplicate: true },
      { index: 2, duplicate: true },
      { index: 3, duplicate: false },
    ]);
    assert.deepEqual(texts(await s.readEntries(0, 10)), ['entry 0', 'entry 1', 'entry 2', 'entry 3']);
  });
}

function storageConnections(open: Opener): void {
  it('a write that throws, or stores at an index already taken, leaves nothing behind', async () => {
    const s = await open();
    const boom = new Error('boom');
    await assert.rejects(
      s.write(async (tx) => {
        await tx.appendEntries(0, [newEntry(0)]);
        await tx.putTiles([tile(0, 1)]);
        await tx.putState(state(1));
        throw boom;
      }),
      (err) => err === boom,
    );
    assert.deepEqual(
      [await s.readState(), await s.readEntries(0, 5), await s.readTile(0, 0)],
      [undefined, [], undefined],
    );
    await s.write((tx) => tx.appendEntries(0, [newEntry(0)]));
    await assert.rejects(s.write((tx) => tx.appendEntries(0, [newEntry(1)])));
    assert.deepEqual(await s.findIdentities([newEntry(1).identity]), new Map());
    assert.deepEqual(texts(await s.readEntries(0, 5)), ['entry 0'], 'the storage still writes after a failure');
  });

  it('a rewritten tile replaces the stored one (a partial tile growing)', async () => {
    const s = await open();
    await s.write((tx) => tx.putTiles([tile(7, 3)]));
    await s.write((tx) => tx.putTiles([tile(7, 5), tile(8, 1)]));
    assert.equal((await s.readTile(0, 7))?.width, 5);
    assert.deepEqual(Buffer.from((await s.readTile(0, 7))?.bytes ?? []), Buffer.alloc(32, 5));
    assert.equal((await s.readTile(0, 8))?.width, 1);
  });

  it('two connections writing in turn each read the state the other committed', async () => {
    const first = open();
    const [a, b] = [await first, await open(first.name)];
    for (let i = 0; i < 12; i++) {
      await (i % 2 === 0 ? a : b).write(async (tx) => {
        const size = (await tx.readState())?.size ?? 0;
        await tx.appendEntries(size, [newEntry(size)]);
        await tx.putState(state(size + 1));
      });
    }
    assert.equal((await a.readState())?.size, 12);
    assert.equal((await b.readEntries(0, 20)).length, 12);
  });
}

function engineOpener(open: Opener) {
  const dir = useTempDir('airlock-conformance-');
  return async (name: string | undefined, options: Partial<Pick<LogEngineOptions, 'maxBatch' | 'cacheTiles'>> = {}) => {
    const storage = open(name);
    return LogEngine.open({
      storage: await storage,
      checkpoints: signer,
      lastSigned: lastSignedFile(join(dir, `${storage.name}.checkpoint`)),
      ...options,
    }).then((log) => Object.assign(log, { name: storage.name }));
  };
}

function engineAppends(engine: ReturnType<typeof engineOpener>): void {
  it('acknowledges each of many concurrent appends with a unique index and a checkpoint covering it', async () => {
    const log = await engine(undefined, { maxBatch: 64 });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(entry(i))));
    assert.deepEqual(
      results.map((r) => r.index).sort((a, b) => a - b),
      Array.from({ length: 500 }, (_, i) => i),
    );
    for (const [i, r] of results.entries()) {
      const { size, root } = signer.open(r.checkpoint);
      assert.ok(size > r.index && size === r.size);
      assert.ok(verifyInclusion(r.index, size, leafHash(entry(i)), await log.inclusionProof(r.index, size), root));
    }
    assert.equal(log.size, 500);
    assert.ok(new Set(results.map((r) => r.checkpoint)).size < 500, 'appends were grouped into batches');
    await log.close();
  });

  it('serves proofs that verify from stored tiles and kept folds alike, at sizes old and new', async () => {
    // A one-tile cache sends most proofs through storage (a dry run over placeholder hashes first):
    // none of that may reach the folds kept for later proofs.
    const log = await engine(undefined, { maxBatch: 1000, cacheTiles: 1 });
    await Promise.all(Array.from({ length: 3000 }, (_, i) => log.append(entry(i))));
    const early = signer.open(log.checkpoint);
    await Promise.all(Array.from({ length: 2345 }, (_, i) => log.append(entry(3000 + i))));
    for (const { size, root } of [signer.open(log.checkpoint), early, signer.open(log.checkpoint)]) {
      for (let i = 0; i < size; i += 97) {
        const proof = await log.inclusionProof(i, size);
        assert.ok(verifyInclusion(i, size, leafHash(entry(i)), proof, root), `entry ${i} at size ${size}`);
      }
    }
    await log.close();
  });

  it('a duplicate gets the index it was logged at, within a batch and across batches', async () => {
    const log = await engine(undefined);
    const [a, b] = await Promise.all([log.append(entry(1)), log.append(entry(1))]);
    assert.equal(a?.index, 0);
    assert.deepEqual([b?.index, b?.duplicate], [0, true]);
    const c = await log.append(entry(1));
    assert.deepEqual([c.index, c.duplicate, log.size], [0, true, 1]);
    assert.equal(await log.find(entry(1)), 0);
    await log.close();
  });
}

function engineReads(engine: ReturnType<typeof engineOpener>): void {
  it('reopens where it stopped, with consistency from every earlier checkpoint', async () => {
    let log = await engine(undefined);
    const first = await log.append(entry(0));
    for (let i = 1; i < 300; i++) await log.append(entry(i));
    const mid = signer.open(log.checkpoint);
    await log.close();
    log = await engine(log.name);
    assert.equal(log.size, 300);
    await log.append(entry(300));
    const now = signer.open(log.checkpoint);
    assert.ok(
      verifyConsistency(mid.size, now.size, mid.root, now.root, await log.consistencyProof(mid.size, now.size)),
    );
    const one = signer.open(first.checkpoint);
    assert.ok(verifyConsistency(1, now.size, one.root, now.root, await log.consistencyProof(1, now.size)));
    assert.deepEqual(Buffer.from((await log.readEntry(300)) as Uint8Array), entry(300));
    await log.close();
  });

  it('serves C2SP tiles and entry bundles for what it holds, partial ones as prefixes', async () => {
    const log = await engine(undefined);
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(entry(i))));
    const full = await log.readTile(0, 0, 256);
    assert.equal(full?.length, 256 * 32);
    assert.deepEqual(full?.subarray(0, 32), leafHash((await log.readEntry(0)) as Uint8Array));
    assert.equal((await log.readTile(0, 1, 44))?.length, 44 * 32);
    assert.equal((await log.readTile(0, 1, 20))?.length, 20 * 32, 'an older partial width is a prefix');
    assert.equal(await log.readTile(0, 1, 256), undefined, 'not full yet');
    assert.equal(await log.readTile(0, 1, 45), undefined);
    assert.equal((await log.readEntries(1, 44))?.length, 44);
    assert.equal(await log.readEntries(1, 45), undefined);
    await log.close();
  });

  it('two engines on one database (two processes) append without forking', async () => {
    const a = await engine(undefined);
    const b = await engine(a.name);
    for (let i = 0; i < 40; i++) await (i % 3 === 0 ? b : a).append(entry(i));
    const ra = await a.append(entry(1000));
    const rb = await b.append(entry(1001));
    assert.deepEqual([ra.index, rb.index], [40, 41]);
    const cp = signer.open(rb.checkpoint);
    assert.ok(verifyInclusion(40, cp.size, leafHash(entry(1000)), await b.inclusionProof(40, cp.size), cp.root));
    await a.close();
    await b.close();
  });
}
