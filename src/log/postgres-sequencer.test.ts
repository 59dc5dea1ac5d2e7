// One sequencer among processes sharing a PostgreSQL log, against a real server: the lock elects one,
// the epoch fences a deposed one, a standby takes over when the session of the sequencer ends, and a
// standby's engine follows the sequencer's commits but refuses storage that went back.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { newEntryOf } from '../../test/helpers/log-storage-conformance.ts';
import { openLogStorage, postgresAvailable, usePostgres } from '../../test/helpers/postgres.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { checkpointSignerFor } from './checkpoint-signer.ts';
import { LogEngine } from './engine.ts';
import { PostgresSequencer, type SequencerOptions } from './postgres-sequencer.ts';

const missing = postgresAvailable();
const server = usePostgres();

const open = (schema: string) => openLogStorage(server, schema);
const entry = newEntryOf;
const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(check(), what);
};

function events() {
  const seen: string[] = [];
  const options = (holder: string): SequencerOptions => ({
    holder,
    pollMs: 20,
    heartbeatMs: 50,
    retryMs: 50,
    onSequencing: async (epoch) => {
      seen.push(`${holder} sequencing ${epoch}`);
    },
    onStandby: (reason) => seen.push(`${holder} standby: ${reason}`),
    onRefused: (err) => seen.push(`${holder} refused: ${(err as Error).message}`),
  });
  return { seen, options };
}

describe('PostgresSequencer', { skip: missing }, () => {
  it('a deposed sequencer cannot write once another claimed the next epoch, whatever its connection', async () => {
    const [a, b] = await Promise.all([open('fence'), open('fence')]);
    assert.equal(await a.claimSequencer('a', 1), '1');
    a.sequenceAs('1');
    await a.write((tx) => tx.appendEntries(0, [entry('a0')]));
    assert.equal(await b.claimSequencer('b', 2), '2');
    b.sequenceAs('2');
    await assert.rejects(
      a.write((tx) => tx.appendEntries(1, [entry('a1')])),
      { code: 'E_NOT_SEQUENCER', message: /another process took over sequencing \(epoch 2, this one had 1\)/ },
    );
    await assert.rejects(
      a.write((tx) => tx.readState()),
      { code: 'E_NOT_SEQUENCER' },
      'and it stays a standby',
    );
    await b.write((tx) => tx.appendEntries(1, [entry('b1')]));
    assert.deepEqual(
      (await b.readEntries(0, 5)).map((d) => Buffer.from(d).toString()),
      ['a0', 'b1'],
      "the deposed sequencer's late write left nothing",
    );
    assert.deepEqual(await b.sequencer(), { epoch: '2', holder: 'b' });
    await Promise.all([a.close(), b.close()]);
  });

  it('elects one; when its session ends (stopped, or killed by the server) the standby takes over', async () => {
    const [sa, sb] = await Promise.all([open('elect'), open('elect')]);
    const { seen, options } = events();
    const a = await PostgresSequencer.start(sa, options('a'));
    const b = await PostgresSequencer.start(sb, options('b'));
    assert.deepEqual([a.role, b.role], ['sequencer', 'standby']);
    await assert.rejects(
      sb.write((tx) => tx.readState()),
      { code: 'E_NOT_SEQUENCER' },
    );
    await a.stop();
    await until('b takes over once a hands the lock back', () => b.role === 'sequencer');
    const restarted = await PostgresSequencer.start(sa, options('a'));
    assert.equal(restarted.role, 'standby');
    // The server ends the sequencer's session (as it does a stalled one past idle_session_timeout).
    const admin = await server.admin('airlock');
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'airlock-log-sequencer b'",
    );
    await admin.end();
    await until('b stands down', () => b.role === 'standby');
    await until('a takes over', () => restarted.role === 'sequencer');
    await sa.write((tx) => tx.readState());
    await assert.rejects(
      sb.write((tx) => tx.readState()),
      { code: 'E_NOT_SEQUENCER' },
    );
    assert.deepEqual(
      seen.filter((e) => !e.includes('refused')).map((e) => e.replace(/: .*/, '')),
      ['a sequencing 1', 'b sequencing 2', 'b standby', 'a sequencing 3'],
    );
    await Promise.all([restarted.stop(), b.stop()]);
    await Promise.all([sa.close(), sb.close()]);
  });

  it("a standby's engine follows the sequencer's commits, and refuses storage that went back", async () => {
    const signer = checkpointSignerFor(
      'log.example',
      createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test'),
    );
    const [sa, sb] = await Promise.all([open('follow'), open('follow')]);
    sa.sequenceAs(await sa.claimSequencer('a', 1));
    sb.standBy();
    const sizeOf = (note: string) => signer.open(note).size;
    const leader = await LogEngine.open({ storage: sa, checkpoints: signer, lastSigned: sa.lastSignedStore(sizeOf) });
    const standby = await LogEngine.open({ storage: sb, checkpoints: signer });
    await Promise.all(['x', 'y', 'z'].map((t) => leader.append(Buffer.from(t))));
    const before = { size: 3, checkpoint: leader.checkpoint };
    const admin = await server.admin('airlock');
    const tiles = (await admin.query('SELECT level, idx, width, data FROM follow.tiles')).rows;
    assert.equal(await standby.refresh(), true);
    assert.deepEqual({ size: standby.size, checkpoint: standby.checkpoint }, before);
    assert.equal(await standby.refresh(), false, 'nothing new');
    await leader.append(Buffer.from('w'));
    assert.equal(await standby.refresh(), true);
    assert.equal(standby.size, 4);
    // The database restored from a backup taken at size 3 (a superuser's session skips the triggers).
    const back = signer.open(before.checkpoint);
    await admin.query('SET session_replication_role = replica');
    await admin.query('DELETE FROM follow.entries WHERE idx >= 3');
    for (const t of tiles as Array<{ level: number; idx: string; width: number; data: Buffer }>) {
      await admin.query('UPDATE follow.tiles SET width = $3, data = $4 WHERE level = $1 AND idx = $2', [
        t.level,
        t.idx,
        t.width,
        t.data,
      ]);
    }
    await admin.query('UPDATE follow.state SET size = $1, root = $2, checkpoint = $3', [
      back.size,
      Buffer.from(back.root),
      before.checkpoint,
    ]);
    await admin.end();
    await assert.rejects(standby.refresh(), { code: 'E_LOG_ROLLBACK' }, 'not quietly: the log went back');
    assert.equal(standby.size, 4, 'it keeps serving what it had');
    // Nor would any process start on it: the database's own record of what was signed is ahead.
    const fresh = await open('follow');
    await assert.rejects(
      LogEngine.open({ storage: fresh, checkpoints: signer, lastSigned: fresh.lastSignedStore(sizeOf) }),
      {
        code: 'E_LOG_ROLLBACK',
        message: /is at size 3, behind the checkpoint it signed at size 4/,
      },
    );
    await Promise.all([leader.close(), standby.close()]);
  });
});
