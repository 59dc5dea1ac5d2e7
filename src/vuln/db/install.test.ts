import assert from 'node:assert/strict';
import { appendFile, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { AirlockError } from '../../errors.ts';
import type { AuditRecord } from '../../recorder.ts';
import { osvRecord, testKey, writeRecords } from '../../../test/helpers/osv-records.ts';
import { useTempDirs } from '../../../test/helpers/temp-dir.ts';
import { buildVulnDb } from './build.ts';
import { importVulnDb, type ImportVulnDbOptions, vulnDbDir } from './install.ts';
import { loadInstalledVulnDb, vulnDbPrometheus, vulnDbStatus } from './status.ts';

const tempDir = useTempDirs();
const key = testKey();
const DAY = 86_400_000;
const T0 = new Date('2026-12-01T00:00:00Z');
const after = (days: number) => new Date(T0.getTime() + days * DAY);

const coded = (code: string) => (err: unknown) => err instanceof AirlockError && err.code === code;

/** A signed database built at `built` holding one record per id. */
async function database(built: Date, ids = ['A-1'], signed = true): Promise<string> {
  const dir = await tempDir('vulndb-src-');
  await writeRecords(
    join(dir, 'src'),
    ids.map((id) => osvRecord(id, [['PyPI', id.toLowerCase()]])),
  );
  const out = join(dir, 'vuln.db');
  await buildVulnDb({ sources: [join(dir, 'src')], out, now: built, ...(signed ? { signer: key.signer } : {}) });
  return out;
}

async function home(): Promise<{
  stateDir: string;
  records: AuditRecord[];
  options: (now: Date) => ImportVulnDbOptions;
}> {
  const stateDir = await tempDir('vulndb-home-');
  const records: AuditRecord[] = [];
  return {
    stateDir,
    records,
    options: (now) => ({
      keys: [key.publicKey],
      now,
      stateDir,
      record: async (r) => {
        records.push(r);
      },
    }),
  };
}

const installs = async (stateDir: string, name = 'default') =>
  readdir(join(vulnDbDir(stateDir, name), 'installs')).catch(() => []);

describe('importVulnDb', () => {
  it('installs by name, recording before the current link moves; the same build again changes nothing', async () => {
    const h = await home();
    const db = await database(T0);
    let linkWhenRecorded: string | undefined = 'unset';
    const result = await importVulnDb(db, {
      ...h.options(after(1)),
      record: async (r) => {
        h.records.push(r);
        linkWhenRecorded = await readlink(join(vulnDbDir(h.stateDir, 'default'), 'current')).catch(() => undefined);
      },
    });
    assert.equal(linkWhenRecorded, undefined);
    assert.equal(result.unchanged, false);
    assert.equal(result.state, 'ok');
    assert.equal(result.install.built, T0.toISOString());
    assert.equal(result.install.maxAgeDays, 7);
    assert.deepEqual(
      h.records.map((r) => [r.action, r.result]),
      [['vulndb.import', 'ok']],
    );
    const loaded = await loadInstalledVulnDb(h.stateDir, 'default', after(2));
    assert.deepEqual(loaded.warnings, []);
    const again = await importVulnDb(db, h.options(after(2)));
    assert.equal(again.unchanged, true);
    assert.equal((await installs(h.stateDir)).length, 1);
    assert.equal(h.records.length, 1);
    // A newer build replaces it; the old copy stays as `previous`, older ones go.
    await importVulnDb(await database(after(1), ['A-1', 'B-1']), h.options(after(2)));
    await importVulnDb(await database(after(2), ['A-1', 'B-1', 'C-1']), { ...h.options(after(2)), name: 'other' });
    await importVulnDb(await database(after(3)), h.options(after(3)));
    assert.equal((await installs(h.stateDir)).length, 2);
    assert.equal((await readdir(join(h.stateDir, 'vulndb'))).sort().join(), 'default,other');
  });

  it('refuses a database built before the installed one (E_VULNDB_ROLLBACK), and records the refusal', async () => {
    const h = await home();
    const older = await database(T0);
    await importVulnDb(await database(after(1)), h.options(after(1)));
    await assert.rejects(importVulnDb(older, h.options(after(1))), coded('E_VULNDB_ROLLBACK'));
    assert.deepEqual(
      h.records.map((r) => [r.action, r.result, r.reason?.split(':')[0]]),
      [
        ['vulndb.import', 'ok', undefined],
        ['vulndb.import', 'refused', 'E_VULNDB_ROLLBACK'],
      ],
    );
    assert.equal((await installs(h.stateDir)).length, 1);
  });

  it('refuses unsigned, wrongly signed and tampered databases, installing nothing', async () => {
    const h = await home();
    await assert.rejects(importVulnDb(await database(T0, ['A-1'], false), h.options(T0)), coded('E_VULNDB_SIGNATURE'));
    await assert.rejects(
      importVulnDb(await database(T0), { ...h.options(T0), keys: [testKey().publicKey] }),
      coded('E_VULNDB_SIGNATURE'),
    );
    const tampered = await database(T0, ['A-1', 'B-1']);
    const sql = new DatabaseSync(tampered);
    sql.exec("UPDATE records SET json = replace(json, '2.0', '1.0') WHERE id = 'B-1'");
    sql.close();
    await assert.rejects(importVulnDb(tampered, h.options(T0)), coded('E_VULNDB_TAMPERED'));
    assert.deepEqual(await installs(h.stateDir), []);
    assert.equal(h.records.filter((r) => r.result === 'refused').length, 3);
  });

  it('refuses one older than its max age unless a time-boxed break-glass is recorded (E_VULNDB_STALE)', async () => {
    const h = await home();
    const db = await database(T0);
    await assert.rejects(importVulnDb(db, h.options(after(8))), coded('E_VULNDB_STALE'));
    await assert.rejects(importVulnDb(db, { ...h.options(after(3)), maxAgeDays: 2 }), coded('E_VULNDB_STALE'));
    await assert.rejects(importVulnDb(await database(after(2)), h.options(T0)), coded('E_VULNDB_STALE'));
    const breakGlass = { reason: 'CHG-1: courier late', until: after(12) };
    await assert.rejects(
      importVulnDb(db, { ...h.options(after(8)), breakGlass: { ...breakGlass, until: after(30) } }),
      coded('E_USAGE'),
    );
    const result = await importVulnDb(db, { ...h.options(after(8)), breakGlass });
    assert.equal(result.state, 'expired');
    assert.deepEqual(result.install.breakGlass, { reason: 'CHG-1: courier late', until: after(12).toISOString() });
    assert.deepEqual(h.records.at(-1)?.action, 'vulndb.break-glass');
    const loaded = await loadInstalledVulnDb(h.stateDir, 'default', after(9));
    assert.match(loaded.warnings[0] ?? '', /BREAK-GLASS/);
    await assert.rejects(loadInstalledVulnDb(h.stateDir, 'default', after(13)), coded('E_BREAK_GLASS'));
    // Within max age, a break-glass asked for is not recorded on the install: nothing needed it.
    const fresh = await importVulnDb(await database(after(8)), { ...h.options(after(8)), breakGlass });
    assert.equal(fresh.install.breakGlass, undefined);
  });

  it('installs nothing when its audit record cannot be written first (E_IO), and can be imported again', async () => {
    const h = await home();
    const db = await database(T0);
    const failing = async () => {
      throw new Error('audit log is full');
    };
    await assert.rejects(importVulnDb(db, { ...h.options(T0), record: failing }), coded('E_IO'));
    assert.deepEqual(await installs(h.stateDir), []);
    await assert.rejects(loadInstalledVulnDb(h.stateDir, 'default', T0), coded('E_VULNDB_MISSING'));
    assert.equal((await importVulnDb(db, h.options(T0))).unchanged, false);
  });

  it('refuses bad names and maximum ages (E_USAGE)', async () => {
    const h = await home();
    const db = await database(T0);
    await assert.rejects(importVulnDb(db, { ...h.options(T0), name: '../x' }), coded('E_USAGE'));
    await assert.rejects(importVulnDb(db, { ...h.options(T0), maxAgeDays: 0 }), coded('E_USAGE'));
  });
});

describe('loadInstalledVulnDb and vulnDbStatus', () => {
  it('say missing, stale, warning and changed in place', async () => {
    const h = await home();
    await assert.rejects(loadInstalledVulnDb(h.stateDir, 'default', T0), coded('E_VULNDB_MISSING'));
    assert.deepEqual(await vulnDbStatus(h.stateDir, T0), []);
    await importVulnDb(await database(T0, ['A-1', 'B-1']), h.options(T0));
    const at = (days: number) => vulnDbStatus(h.stateDir, after(days));
    assert.deepEqual(
      (await at(1)).map((s) => [s.name, s.state, s.level, s.ageDays, s.daysLeft, s.records]),
      [['default', 'ok', 0, 1, 6, 2]],
    );
    assert.deepEqual(
      (await at(5.5)).map((s) => [s.state, s.level]),
      [['warn', 1]],
    );
    assert.match((await loadInstalledVulnDb(h.stateDir, 'default', after(5.5))).warnings[0] ?? '', /expires in 1.5/);
    assert.deepEqual(
      (await at(7)).map((s) => [s.state, s.level]),
      [['expired', 2]],
    );
    await assert.rejects(loadInstalledVulnDb(h.stateDir, 'default', after(7)), coded('E_VULNDB_STALE'));
    const prom = vulnDbPrometheus(await at(1));
    assert.match(prom, /^airlock_vulndb_built_timestamp_seconds\{name="default"\} 1796083200$/m);
    assert.match(prom, /^airlock_vulndb_deadline_timestamp_seconds\{name="default"\} 1796688000$/m);
    assert.match(prom, /^airlock_vulndb_records\{name="default"\} 2$/m);
    assert.match(prom, /^airlock_vulndb_status\{name="default"\} 0$/m);
    assert.match(prom, /# TYPE airlock_vulndb_status gauge/);
    await appendFile(join(vulnDbDir(h.stateDir, 'default'), 'current', 'vuln.db'), 'x');
    await assert.rejects(loadInstalledVulnDb(h.stateDir, 'default', after(1)), coded('E_VULNDB_TAMPERED'));
    const [broken] = await at(1);
    assert.equal(broken?.level, 2);
    assert.equal(broken?.problem?.code, 'E_VULNDB_TAMPERED');
    await rm(join(vulnDbDir(h.stateDir, 'default'), 'current'));
    const [gone] = await at(1);
    assert.equal(gone?.level, 2);
    assert.match(gone?.problem?.message ?? '', /has no current install/);
  });
});
