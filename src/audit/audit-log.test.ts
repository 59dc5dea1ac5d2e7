import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { AuditLog, auditDir, verifyAuditLog } from './audit-log.ts';
import type { AuditEvent } from './event.ts';

const tempDir = useTempDirs();

const home = (): Promise<string> => tempDir('airlock-audit-');

const event = (n: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  time: new Date(Date.UTC(2026, 10, 21, 12, 0, n)).toISOString(),
  actor: 'alice',
  host: 'build-1',
  tool: 'airlock test',
  action: n % 2 ? 'verify' : 'sign',
  result: 'ok',
  subjects: [{ name: `artifact-${n}`, digest: `sha256:${n.toString(16).padStart(64, '0')}` }],
  ...extra,
});

async function withEvents(count: number): Promise<string> {
  const dir = await home();
  const log = await AuditLog.open(dir);
  try {
    for (let n = 0; n < count; n++) await log.append(event(n));
  } finally {
    await log.close();
  }
  return dir;
}

/** Opens the audit database as someone with write access to the disk would. */
function tamper(dir: string, edit: (db: DatabaseSync) => void): void {
  const db = new DatabaseSync(join(auditDir(dir), 'audit.db'));
  try {
    edit(db);
  } finally {
    db.close();
  }
}

const indices = (problems: ReadonlyArray<{ index?: number }>) => [
  ...new Set(problems.flatMap((p) => (p.index === undefined ? [] : [p.index]))),
];

describe('audit log', () => {
  it('keeps events in order and verifies them; the key is 0600 and the origin names the host', async () => {
    const dir = await withEvents(7);
    const v = await verifyAuditLog(dir);
    assert.deepEqual(v.problems, []);
    assert.equal(v.ok, true);
    assert.equal(v.size, 7);
    assert.deepEqual(
      v.events.map((e) => e.index),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(v.events[3]?.event, event(3));
    assert.match(v.origin, /^audit\./);
    const { stat } = await import('node:fs/promises');
    assert.equal((await stat(join(auditDir(dir), 'audit.key'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(auditDir(dir))).filter((f) => !f.startsWith('audit.db')).sort(), [
      'audit.key',
      'audit.pub',
      'checkpoint',
      'origin',
    ]);
  });

  it('records details holding undefined as JSON, so one careless detail cannot make the log unreadable', async () => {
    // A sign at log index 0 once recorded tlogEntries [undefined]: canonicalize wrote the bare word.
    const dir = await home();
    const log = await AuditLog.open(dir);
    try {
      await log.append(
        event(0, { details: { tlogEntries: [undefined, '7'], key: { fingerprint: undefined, source: 'k' } } }),
      );
    } finally {
      await log.close();
    }
    const v = await verifyAuditLog(dir);
    assert.deepEqual(v.problems, []);
    assert.deepEqual(v.events[0]?.event.details, { tlogEntries: [null, '7'], key: { source: 'k' } });
  });

  it('reports an edited event with its index', async () => {
    const dir = await withEvents(6);
    tamper(dir, (db) =>
      db
        .prepare('UPDATE entries SET data = ? WHERE idx = 3')
        .run(Buffer.from(JSON.stringify({ ...event(3), result: 'refused' }))),
    );
    const v = await verifyAuditLog(dir);
    assert.equal(v.ok, false);
    assert.deepEqual(indices(v.problems), [3]);
    assert.match(v.problems.find((p) => p.index === 3)?.problem ?? '', /changed/);
  });

  it('reports a deleted event with its index', async () => {
    const dir = await withEvents(6);
    tamper(dir, (db) => db.prepare('DELETE FROM entries WHERE idx = 2').run());
    const v = await verifyAuditLog(dir);
    assert.equal(v.ok, false);
    assert.deepEqual(indices(v.problems), [2]);
    assert.match(v.problems[0]?.problem ?? '', /missing/);
    assert.equal(v.events.length, 5, 'the other events are still shown');
  });

  it('reports two reordered events with both indices', async () => {
    const dir = await withEvents(6);
    tamper(dir, (db) => {
      // identity is UNIQUE: move one row aside, then swap.
      db.exec('BEGIN');
      db.exec('UPDATE entries SET idx = -1 WHERE idx = 4');
      db.exec('UPDATE entries SET idx = 4 WHERE idx = 5');
      db.exec('UPDATE entries SET idx = 5 WHERE idx = -1');
      db.exec('COMMIT');
    });
    const v = await verifyAuditLog(dir);
    assert.equal(v.ok, false);
    assert.deepEqual(indices(v.problems), [4, 5]);
    assert.deepEqual(v.events.map((e) => e.event.subjects[0]?.name).slice(4), ['artifact-5', 'artifact-4']);
  });

  it('catches events and tiles rewritten together: the rebuilt root is not the signed one', async () => {
    const dir = await withEvents(5);
    const forged = await withEvents(0);
    // Build the forged history in a log of its own, then graft its entries and tiles over the real ones.
    const log = await AuditLog.open(forged);
    for (let n = 0; n < 5; n++) await log.append(event(n, n === 1 ? { result: 'refused' } : {}));
    await log.close();
    tamper(dir, (db) => {
      db.exec(`ATTACH '${join(auditDir(forged), 'audit.db')}' AS forged`);
      db.exec(
        'DELETE FROM entries; INSERT INTO entries SELECT * FROM forged.entries; DELETE FROM ' +
          'tiles; INSERT INTO tiles SELECT * FROM forged.tiles;',
      );
    });
    const v = await verifyAuditLog(dir);
    assert.equal(v.ok, false);
    assert.ok(
      v.problems.some((p) => /root is not the signed one/.test(p.problem)),
      JSON.stringify(v.problems),
    );
  });

  it('a database restored from an older copy is caught by the checkpoint kept beside it', async () => {
    const dir = await withEvents(3);
    const db = join(auditDir(dir), 'audit.db');
    const saved = join(dir, 'old.db');
    await copyFile(db, saved);
    const log = await AuditLog.open(dir);
    await log.append(event(3, { result: 'refused' }));
    await log.close();
    await copyFile(saved, db);
    await rm(`${db}-wal`, { force: true });
    await rm(`${db}-shm`, { force: true });
    const v = await verifyAuditLog(dir);
    assert.equal(v.ok, false);
    assert.match(v.problems.map((p) => p.problem).join('\n'), /size 4, but the log holds 3: events were removed/);
    await assert.rejects(AuditLog.open(dir), { code: 'E_LOG_ROLLBACK' });
    // Deleting the kept checkpoint as well does not launder it: verify and the engine both refuse.
    await rm(join(auditDir(dir), 'checkpoint'));
    const again = await verifyAuditLog(dir);
    assert.equal(again.ok, false);
    assert.match(again.problems.map((p) => p.problem).join('\n'), /kept beside the log .* is missing/);
    await assert.rejects(AuditLog.open(dir), { code: 'E_LOG_ROLLBACK' });
  });

  it('--since: a checkpoint saved earlier must still be extended; one from another log does not verify', async () => {
    const dir = await withEvents(3);
    const before = await readFile(join(auditDir(dir), 'checkpoint'), 'utf8');
    const log = await AuditLog.open(dir);
    await log.append(event(3));
    await log.close();
    assert.equal((await verifyAuditLog(dir, { since: before })).ok, true);
    const other = await withEvents(2);
    const foreign = await readFile(join(auditDir(other), 'checkpoint'), 'utf8');
    const v = await verifyAuditLog(dir, { since: foreign });
    assert.equal(v.ok, false);
    assert.match(v.problems[0]?.problem ?? '', /--since checkpoint does not verify with the audit key/);
  });

  // What --since names must be a checkpoint before anything can be said about the log from it: a file
  // that is not one is the caller's mistake (could not evaluate), never "the audit log does not verify".
  it(
    '--since that is not a checkpoint is E_INPUT_MALFORMED; a checkpoint that does not verify ' + 'stays a problem',
    async () => {
      const dir = await withEvents(2);
      const { generateKeyPairSync } = await import('node:crypto');
      const { createKeyObjectSigner } = await import('../crypto/key-object-signer.ts');
      const { signNote } = await import('../log/note.ts');
      const { noteSignerFor } = await import('../log/note-keys.ts');
      const signer = noteSignerFor(
        'someone',
        createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'test'),
      );
      const notACheckpoint = await signNote('just a note\n', [signer]);
      for (const since of [
        '',
        'garbage',
        'audit.x\n3\nnot base64\n',
        '\u0000\u0001',
        'x'.repeat(2 << 20),
        notACheckpoint,
      ]) {
        await assert.rejects(
          verifyAuditLog(dir, { since }),
          { code: 'E_INPUT_MALFORMED', message: /--since .*not a checkpoint/ },
          JSON.stringify(since.slice(0, 40)),
        );
      }
      const kept = await readFile(join(auditDir(dir), 'checkpoint'), 'utf8');
      const altered = kept.replace(/\n2\n/, '\n1\n');
      const v = await verifyAuditLog(dir, { since: altered });
      assert.equal(v.ok, false, 'a checkpoint of this log with its signature broken is a verdict');
      assert.match(v.problems[0]?.problem ?? '', /--since checkpoint does not verify with the audit key/);
    },
  );

  it(
    'sweeps the checkpoint temp files and identity drafts of a killed command when it opens, and ' + 'nothing else',
    async () => {
      const dir = await withEvents(1);
      const { spawnSync } = await import('node:child_process');
      const dead = Number(
        spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
      );
      const left = `checkpoint.tmp-${dead}-0123456789ab`;
      const live = `checkpoint.tmp-${process.ppid}-0123456789ab`;
      await writeFile(join(auditDir(dir), left), 'half a checkpoint');
      await writeFile(join(auditDir(dir), live), 'another writer, now');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(dir, `.audit-new-${dead}-AbC123`));
      await mkdir(join(dir, `.audit-new-${process.ppid}-AbC123`));
      const log = await AuditLog.open(dir);
      await log.close();
      const names = await readdir(auditDir(dir));
      assert.ok(!names.includes(left));
      assert.ok(names.includes(live));
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.startsWith('.audit-new-')),
        [`.audit-new-${process.ppid}-AbC123`],
        "the identity draft of a killed command is swept, a running one's kept",
      );
    },
  );

  it('migrates the events.jsonl stand-in once, and keeps it renamed', async () => {
    const dir = await home();
    const lines = [
      { time: '2026-10-01T00:00:00.000Z', action: 'trust.import', name: 'sigstore', result: 'installed', mirror: '/m' },
      {
        time: '2026-10-02T00:00:00.000Z',
        action: 'transfer.import',
        name: 'default',
        result: 'refused',
        code: 'E_REPLAY',
        reason: 'seen',
      },
    ];
    await writeFile(join(dir, 'events.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    await (await AuditLog.open(dir)).close();
    await (await AuditLog.open(dir)).close();
    const v = await verifyAuditLog(dir);
    assert.equal(v.ok, true);
    assert.deepEqual(
      v.events.map((e) => [e.event.action, e.event.result, e.event.subjects[0]?.name]),
      [
        ['trust.import', 'ok', 'sigstore'],
        ['transfer.import', 'refused', 'default'],
      ],
    );
    assert.equal(v.events[1]?.event.details?.code, 'E_REPLAY');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.startsWith('events')),
      ['events.jsonl.migrated'],
    );
    // A file dropped there later is not taken in: that would let anyone who can write $AIRLOCK_HOME add events.
    await writeFile(
      join(dir, 'events.jsonl'),
      JSON.stringify({ time: '2026-11-01T00:00:00.000Z', action: 'transfer.import', name: 'x', result: 'accepted' }) +
        '\n',
    );
    await (await AuditLog.open(dir)).close();
    assert.equal((await verifyAuditLog(dir)).size, 2);
  });

  it('refuses another key for an existing audit log', async () => {
    const dir = await withEvents(1);
    const { generateKeyPairSync } = await import('node:crypto');
    const { createKeyObjectSigner } = await import('../crypto/key-object-signer.ts');
    const signer = createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'another key');
    await assert.rejects(AuditLog.open(dir, { signer }), { code: 'E_KEY_MISMATCH' });
  });
});
