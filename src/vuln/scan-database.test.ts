// The database a scan reads from a file (scan --db, pack --scan --vulndb): judged for age as import
// judges it, verified through the very handle the scan then reads.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { AirlockError } from '../errors.ts';
import { osvRecord, testKey, writeRecords } from '../../test/helpers/osv-records.ts';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { buildVulnDb } from './db/build.ts';
import { openVulnDb } from './db/open.ts';
import { verifyOpenedVulnDb } from './db/verify.ts';
import { openScanDatabase } from './scan-database.ts';

const tempDir = useTempDirs();
const key = testKey();
const other = testKey();
const DAY = 86_400_000;
const T0 = new Date('2026-12-01T00:00:00Z');
const after = (days: number) => new Date(T0.getTime() + days * DAY);
const coded = (code: string) => (err: unknown) => err instanceof AirlockError && err.code === code;

async function database(signed = true): Promise<string> {
  const dir = await tempDir('scan-db-');
  await writeRecords(join(dir, 'src'), [osvRecord('A-1', [['PyPI', 'a-1']])]);
  const out = join(dir, 'vuln.db');
  await buildVulnDb({ sources: [join(dir, 'src')], out, now: T0, ...(signed ? { signer: key.signer } : {}) });
  return out;
}

const open = (path: string, now: Date, keys = [key.publicKey], maxAgeDays?: number) =>
  openScanDatabase({ kind: 'file', path, keys, ...(maxAgeDays ? { maxAgeDays } : {}) }, '/nonexistent', now);

describe('openScanDatabase (a file)', () => {
  it('a signed file older than the default maximum age (7, as import) is E_VULNDB_STALE naming --max-age', async () => {
    const path = await database();
    await assert.rejects(open(path, after(400)), (err: unknown) => {
      assert.ok(coded('E_VULNDB_STALE')(err));
      assert.match((err as AirlockError).hint ?? '', /--max-age/);
      return true;
    });
    await assert.rejects(open(path, after(8)), coded('E_VULNDB_STALE'));
    const fresh = await open(path, after(1));
    fresh.opened.close();
  });

  it('--max-age widens the window; the last two days warn', async () => {
    const path = await database();
    const wide = await open(path, after(30), [key.publicKey], 31);
    assert.equal(wide.opened.source.recordsFor('PyPI', 'a-1').length, 1);
    assert.match(wide.warnings.join('\n'), /refused after/);
    wide.opened.close();
  });

  it('an unverified file (no key) is still judged for age, and says it is unverified', async () => {
    const path = await database(false);
    await assert.rejects(open(path, after(400), []), coded('E_VULNDB_STALE'));
    const ok = await open(path, after(1), []);
    assert.match(ok.warnings.join('\n'), /signature was not checked/);
    ok.opened.close();
  });

  it('signed by another key is E_VULNDB_SIGNATURE; content changed is E_VULNDB_TAMPERED', async () => {
    const path = await database();
    await assert.rejects(open(path, after(1), [other.publicKey]), coded('E_VULNDB_SIGNATURE'));
    const db = new DatabaseSync(path);
    db.exec("UPDATE records SET json = replace(json, 'A-1', 'A-1') || ' '");
    db.close();
    await assert.rejects(open(path, after(1)), coded('E_VULNDB_TAMPERED'));
  });
});

describe('verifyOpenedVulnDb', () => {
  it('verifies the handle it is given, which stays open for the caller to read', async () => {
    const path = await database();
    const opened = openVulnDb(path);
    try {
      const verified = await verifyOpenedVulnDb(opened, path, [key.publicKey], after(1));
      assert.equal(verified.manifest.contentSha256, opened.manifest.contentSha256);
      assert.equal(opened.source.recordsFor('PyPI', 'a-1').length, 1);
      await assert.rejects(verifyOpenedVulnDb(opened, path, [other.publicKey], after(1)), coded('E_VULNDB_SIGNATURE'));
    } finally {
      opened.close();
    }
  });
});
