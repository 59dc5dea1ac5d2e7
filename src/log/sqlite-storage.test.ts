// The node:sqlite driver: the conformance suite every storage driver passes, and opening the log
// database from several processes at once, on a fresh file: the switch to WAL and the schema
// transaction can meet SQLITE_BUSY before busy_timeout applies (audit logs of commands starting
// together on a fresh machine). Every opener must get through, and the database be one log.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { describeStorageConformance } from '../../test/helpers/log-storage-conformance.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { snapshotFailure, SqliteLogStorage } from './sqlite-storage.ts';

const STORAGE = fileURLToPath(new URL('./sqlite-storage.ts', import.meta.url));
const dir = useTempDir('airlock-sqlite-open-');

/**
 * A process that opens `path` at `at` (ms since the epoch, so all start together), writes one state row, and says how
 * it went.
 */
function opener(path: string, at: number): Promise<{ code: number | null; out: string }> {
  const script = `
    const { SqliteLogStorage } = await import(${JSON.stringify(STORAGE)});
    while (Date.now() < ${at}) {}
    try {
      const s = SqliteLogStorage.open(${JSON.stringify(path)});
      await s.write(async (tx) => {
        if (!(await tx.readState())) await tx.putState({ size: 0, root: Buffer.alloc(32), checkpoint: 'c' });
      });
      await s.close();
      process.stdout.write('ok');
    } catch (err) {
      process.stdout.write(String(err.code) + ': ' + err.message);
      process.exitCode = 1;
    }`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('SqliteLogStorage.open', () => {
  it('8 processes opening one fresh database at once all get through, round after round', async () => {
    const failures: string[] = [];
    for (let round = 0; round < 12; round++) {
      const path = join(dir, `fresh-${round}.db`);
      const at = Date.now() + 700; // past every child's start-up
      const results = await Promise.all(Array.from({ length: 8 }, () => opener(path, at)));
      for (const r of results) if (r.code !== 0) failures.push(`round ${round}: ${r.out}`);
      const db = new DatabaseSync(path);
      try {
        assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
        assert.equal((db.prepare('SELECT count(*) AS n FROM state').get() as { n: number }).n, 1);
      } finally {
        db.close();
      }
    }
    assert.deepEqual(failures, []);
  });
});

describeStorageConformance('node:sqlite', { open: async (name) => SqliteLogStorage.open(join(dir, `${name}.db`)) });

describe('snapshotFailure', () => {
  it('says what to do when SQLite may not write beside a database it only reads, and only then', () => {
    const readOnly = snapshotFailure('read', '/srv/log/log.db', new Error('attempt to write a readonly database'));
    assert.equal(readOnly.code, 'E_IO');
    assert.match(readOnly.message, /cannot read the log database \/srv\/log\/log\.db: attempt to write a readonly/);
    assert.match(readOnly.hint ?? '', /-shm file beside a WAL database .* copy the folder/);
    const other = snapshotFailure('open', '/srv/log/log.db', new Error('file is not a database'));
    assert.equal(other.hint, undefined);
  });
});
