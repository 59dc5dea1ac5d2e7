// Review of issue 27's change to #recordLastSigned (a checkpoint the record already holds is written again
// unless this engine wrote it): with two processes sharing one sqlite audit log and its checkpoint file,
// the rewrite can land after the other process recorded a newer one, and the record goes back.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import { checkpointSignerFor } from './checkpoint-signer.ts';
import { type LastSignedStore, LogEngine } from './engine.ts';
import { lastSignedFile } from './last-signed-file.ts';
import { newestLastSigned } from './newest-last-signed.ts';
import { SqliteLogStorage } from './sqlite-storage.ts';

const dir = useTempDir('airlock-engine-record-');
const checkpoints = checkpointSignerFor(
  'audit.example',
  createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test'),
);

describe('the last-signed record shared by two writers of one sqlite log', () => {
  it('never goes back below what storage holds when a second writer answers a duplicate', async () => {
    const db = join(dir, 'audit.db');
    const file = lastSignedFile(join(dir, 'audit.checkpoint'));
    const a = await LogEngine.open({ storage: SqliteLogStorage.open(db), checkpoints, lastSigned: file });
    await a.append(Buffer.from('event 0'));
    // Process B's view of the same file; its writes are held until A moved on (a slow disk, a scheduler).
    let held: (() => void) | undefined;
    let writing: (() => void) | undefined;
    const reachedWrite = new Promise<void>((resolve) => {
      writing = resolve;
    });
    const slow: LastSignedStore = {
      read: () => file.read(),
      write: async (note) => {
        writing?.();
        await new Promise<void>((resolve) => {
          held = resolve;
        });
        await file.write(note);
      },
    };
    const b = await LogEngine.open({ storage: SqliteLogStorage.open(db), checkpoints, lastSigned: slow });
    const duplicate = b.append(Buffer.from('event 0'));
    await Promise.race([reachedWrite, duplicate]);
    await a.append(Buffer.from('event 1'));
    held?.();
    await duplicate;
    const kept = await file.read();
    await Promise.all([a.close(), b.close()]);
    assert.equal(
      checkpoints.open(kept ?? '').size,
      2,
      'the record holds size 2 (stored and acknowledged), not the size-1 checkpoint B rewrote after it',
    );
  });

  it('the record of this host that storage contradicts refuses the log, even beside a newer record', async () => {
    // This host signed history Y up to size 2 (its file). The shared database now holds another
    // history X, longer: restored from elsewhere and extended by a process that had no such file.
    const open = (name: string) =>
      LogEngine.open({
        storage: SqliteLogStorage.open(join(dir, `${name}.db`)),
        checkpoints,
        lastSigned: lastSignedFile(join(dir, `${name}.checkpoint`)),
      });
    const y = await open('y');
    for (const e of ['y0', 'y1']) await y.append(Buffer.from(e));
    await y.close();
    const x = await open('x');
    for (const e of ['x0', 'x1', 'x2']) await x.append(Buffer.from(e));
    await x.close();
    const sizeOf = (note: string) => checkpoints.open(note).size;
    const both = newestLastSigned(
      [lastSignedFile(join(dir, 'x.checkpoint')), lastSignedFile(join(dir, 'y.checkpoint'))],
      sizeOf,
    );
    const opened = await LogEngine.open({
      storage: SqliteLogStorage.open(join(dir, 'x.db')),
      checkpoints,
      lastSigned: both,
    }).then(
      async (engine) => {
        await engine.close();
        return 'opened';
      },
      (err: unknown) => (err as { code?: string }).code,
    );
    assert.equal(opened, 'E_LOG_ROLLBACK', "storage's size-2 tree is not the one this host signed at size 2");
  });
});
