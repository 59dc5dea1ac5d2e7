// The witness's decision over a real log (engine + node:sqlite): each tlog-witness status, state
// written before the answer, requests taken one at a time.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import type { AuditRecord } from '../recorder.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { checkpointSignerFor } from './checkpoint-signer.ts';
import { CheckpointWitness, type Cosigned, type Refused } from './checkpoint-witness.ts';
import { cosignatureVerifierFor } from './cosignature.ts';
import { LogEngine } from './engine.ts';
import { parseNote } from './note.ts';
import { noteVerifierFor } from './note-keys.ts';
import { SqliteLogStorage } from './sqlite-storage.ts';
import type { WitnessState } from './witness-state.ts';

const dir = useTempDir('airlock-witness-core-');
let n = 0;

const logKey = generateKeyPairSync('ed25519');
const logVerifier = noteVerifierFor('log.example', logKey.publicKey);
const witnessKey = generateKeyPairSync('ed25519');
const witnessSigner = createKeyObjectSigner(witnessKey.privateKey, 'ed25519', 'witness key');
const NOW = new Date('2026-11-21T10:00:00Z');

async function openLog(origin = 'log.example', key = logKey.privateKey) {
  return LogEngine.open({
    storage: SqliteLogStorage.open(join(dir, `log-${n++}.db`)),
    checkpoints: checkpointSignerFor(origin, createKeyObjectSigner(key, 'ed25519', 'log')),
  });
}
async function grow(log: LogEngine, count: number) {
  const start = log.size;
  await Promise.all(Array.from({ length: count }, (_, i) => log.append(Buffer.from(`entry ${start + i}`))));
}

function memoryState(initial: WitnessState = new Map()) {
  const saved: WitnessState[] = [];
  const store = {
    logs: initial,
    failNext: false,
    save: async (logs: WitnessState) => {
      if (store.failNext) {
        store.failNext = false;
        throw new Error('disk full');
      }
      saved.push(logs);
    },
  };
  return { store, saved };
}

const newWitness = (store: ReturnType<typeof memoryState>['store']) =>
  new CheckpointWitness({
    name: 'w1.example',
    signer: witnessSigner,
    logs: [logVerifier],
    state: store,
    now: () => NOW,
  });
const refused = (o: Cosigned | Refused): Refused => {
  assert.equal(o.ok, false, 'refused');
  return o as Refused;
};
const cosigned = (o: Cosigned | Refused): Cosigned => {
  assert.equal(o.ok, true, JSON.stringify(o));
  return o as Cosigned;
};

describe('CheckpointWitness', () => {
  it('cosigns a first checkpoint from old 0, then one proven to extend it; the state is saved each time', async () => {
    const log = await openLog();
    await grow(log, 5);
    const { store, saved } = memoryState();
    const witness = newWitness(store);
    const first = cosigned(await witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
    assert.equal(first.size, 5);
    assert.equal(first.previous, undefined);
    const verifier = cosignatureVerifierFor('w1.example', witnessKey.publicKey);
    assert.deepEqual(
      verifier.verifyLine(parseNote(log.checkpoint).text, first.cosignature),
      new Date('2026-11-21T10:00:00Z'),
    );
    assert.equal(saved.length, 1);
    assert.equal(saved[0]?.get('log.example')?.size, 5);
    assert.equal(saved[0]?.get('log.example')?.checkpoint, first.note);

    await grow(log, 300);
    const proof = await log.consistencyProof(5, 305);
    const second = cosigned(await witness.addCheckpoint({ oldSize: 5, proof, note: log.checkpoint }));
    assert.equal(second.previous?.size, 5);
    assert.equal(witness.latest('log.example')?.size, 305);
    assert.equal(saved.length, 2);
    // The same tree again (a log re-publishing): cosigned anew, empty proof.
    cosigned(await witness.addCheckpoint({ oldSize: 305, proof: [], note: log.checkpoint }));
    await log.close();
  });

  it('answers 409 with the size last cosigned when old is not that size; nothing is saved', async () => {
    const log = await openLog();
    await grow(log, 8);
    const { store, saved } = memoryState();
    const witness = newWitness(store);
    cosigned(await witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
    await grow(log, 4);
    const r = refused(await witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
    assert.deepEqual([r.status, r.latestSize], [409, 8]);
    const r2 = refused(
      await witness.addCheckpoint({ oldSize: 10, proof: await log.consistencyProof(10, 12), note: log.checkpoint }),
    );
    assert.deepEqual([r2.status, r2.latestSize], [409, 8]);
    assert.equal(saved.length, 1);
    await log.close();
  });

  it(
    'refuses an unknown origin (404), a checkpoint not signed by the trusted key (403), old beyond ' +
      'size (400), a malformed note (400)',
    async () => {
      const other = await openLog('other.example');
      await grow(other, 2);
      const impostor = await openLog('log.example', generateKeyPairSync('ed25519').privateKey);
      await grow(impostor, 2);
      const log = await openLog();
      await grow(log, 2);
      const witness = newWitness(memoryState().store);
      assert.equal(refused(await witness.addCheckpoint({ oldSize: 0, proof: [], note: other.checkpoint })).status, 404);
      const forged = refused(await witness.addCheckpoint({ oldSize: 0, proof: [], note: impostor.checkpoint }));
      assert.deepEqual([forged.status, forged.code], [403, 'E_TLOG_CHECKPOINT']);
      // The trusted key's line altered: a known key whose signature fails is refused, not skipped.
      const tampered = log.checkpoint.replace(/\n2\n/, '\n3\n');
      assert.equal(refused(await witness.addCheckpoint({ oldSize: 0, proof: [], note: tampered })).status, 403);
      assert.equal(refused(await witness.addCheckpoint({ oldSize: 3, proof: [], note: log.checkpoint })).status, 400);
      assert.equal(refused(await witness.addCheckpoint({ oldSize: 0, proof: [], note: 'not a note' })).status, 400);
      for (const l of [other, impostor, log]) await l.close();
    },
  );

  it(
    'refuses with 422 what is not proven consistent: a wrong proof, a proof from 0, another root ' +
      'at the same size, a fork',
    async () => {
      const log = await openLog();
      await grow(log, 6);
      const { store, saved } = memoryState();
      const witness = newWitness(store);
      cosigned(await witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
      await grow(log, 5);
      const proof = await log.consistencyProof(6, 11);
      const wrong = proof.map((h, i) => (i === 0 ? new Uint8Array(32).fill(1) : h));
      const r = refused(await witness.addCheckpoint({ oldSize: 6, proof: wrong, note: log.checkpoint }));
      assert.deepEqual([r.status, r.code], [422, 'E_LOG_INCONSISTENT']);
      assert.deepEqual((r.details as { older: { size: number } }).older.size, 6);
      // A fork: the same key signs another tree of size 11 that does not contain the first 6 entries.
      const fork = await openLog('log.example');
      await Promise.all(Array.from({ length: 11 }, (_, i) => fork.append(Buffer.from(`forked ${i}`))));
      assert.equal(
        refused(
          await witness.addCheckpoint({ oldSize: 6, proof: await fork.consistencyProof(6, 11), note: fork.checkpoint }),
        ).status,
        422,
      );
      // Another root at the size already cosigned.
      const sameSize = await openLog('log.example');
      await Promise.all(Array.from({ length: 6 }, (_, i) => sameSize.append(Buffer.from(`other ${i}`))));
      assert.equal(
        refused(await witness.addCheckpoint({ oldSize: 6, proof: [], note: sameSize.checkpoint })).status,
        422,
      );
      // A proof sent with old 0 (to a witness that has never seen the log).
      const fresh = newWitness(memoryState().store);
      assert.equal(
        refused(await fresh.addCheckpoint({ oldSize: 0, proof: [new Uint8Array(32)], note: log.checkpoint })).status,
        422,
      );
      assert.equal(saved.length, 1, 'no refusal changed the state');
      for (const l of [log, fork, sameSize]) await l.close();
    },
  );

  it('takes requests one at a time: of two racing from old 0, one is cosigned and the other gets 409', async () => {
    const log = await openLog();
    await grow(log, 3);
    const witness = newWitness(memoryState().store);
    const outcomes = await Promise.all([
      witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }),
      witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? 200 : o.status)),
      [200, 409],
    );
    await log.close();
  });

  it('returns no cosignature when the state cannot be saved, and stays where it was', async () => {
    const log = await openLog();
    await grow(log, 3);
    const { store } = memoryState();
    const witness = newWitness(store);
    store.failNext = true;
    await assert.rejects(witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }), /disk full/);
    assert.equal(witness.latest('log.example'), undefined);
    cosigned(await witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
    await log.close();
  });

  it(
    'keeps only what it checked: the log line and its own, not an older one of its own or lines of ' + 'others',
    async () => {
      const log = await openLog();
      await grow(log, 3);
      const witness = newWitness(memoryState().store);
      const first = cosigned(await witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
      // A line claiming another witness's key (which monitors trust) with a junk signature.
      const junk = `— w2.example ${Buffer.alloc(76, 1).toString('base64')}\n`;
      const again = cosigned(await witness.addCheckpoint({ oldSize: 3, proof: [], note: `${first.note}${junk}` }));
      const kept = parseNote(again.note).signatures;
      assert.deepEqual(
        kept.map((s) => s.name),
        ['log.example', 'w1.example'],
      );
      assert.equal(witness.latest('log.example')?.checkpoint, again.note);
      await log.close();
    },
  );

  it(
    'records each cosignature and each 422 refusal, not 403s (anyone can send those); a ' +
      'cosignature it cannot record is not handed out',
    async () => {
      const log = await openLog();
      await grow(log, 4);
      const records: AuditRecord[] = [];
      let failRecord = false;
      const { store, saved } = memoryState();
      const witness = new CheckpointWitness({
        name: 'w1.example',
        signer: witnessSigner,
        logs: [logVerifier],
        state: store,
        now: () => NOW,
        record: async (r) => {
          if (failRecord) throw new Error('audit log unwritable');
          records.push(r);
        },
      });
      failRecord = true;
      // Saved, then not recorded: no cosignature leaves; the log's next request (409, then old 4) gets one.
      await assert.rejects(
        witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }),
        /audit log unwritable/,
      );
      failRecord = false;
      // 409: protocol, not recorded
      refused(await witness.addCheckpoint({ oldSize: 0, proof: [], note: log.checkpoint }));
      cosigned(await witness.addCheckpoint({ oldSize: 4, proof: [], note: log.checkpoint }));
      // 403
      refused(await witness.addCheckpoint({ oldSize: 4, proof: [], note: log.checkpoint.replace(/\n4\n/, '\n5\n') }));
      const fork = await openLog();
      await Promise.all(Array.from({ length: 6 }, (_, i) => fork.append(Buffer.from(`forked ${i}`))));
      refused(
        await witness.addCheckpoint({ oldSize: 4, proof: await fork.consistencyProof(4, 6), note: fork.checkpoint }),
      ); // 422
      assert.equal(saved.length, 2);
      assert.deepEqual(
        records.map((r) => [r.action, r.result, r.subjects?.[0]?.name ?? null]),
        [
          ['log.witness', 'ok', 'log.example'],
          ['log.witness', 'refused', null],
        ],
      );
      assert.match(records[1]?.reason ?? '', /^E_LOG_INCONSISTENT: /);
      assert.equal((records[1]?.details as { newer: { size: number } }).newer.size, 6);
      await log.close();
      await fork.close();
    },
  );
});
