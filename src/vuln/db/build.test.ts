import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { AirlockError } from '../../errors.ts';
import { osvRecord, testKey, writeRecords, zipFolder } from '../../../test/helpers/osv-records.ts';
import { useTempDirs } from '../../../test/helpers/temp-dir.ts';
import { buildVulnDb, type BuildProgress } from './build.ts';
import { normalisePackageName } from './format.ts';
import { openVulnDb } from './open.ts';
import { verifyVulnDb } from './verify.ts';

const tempDir = useTempDirs();
const NOW = new Date('2026-12-01T00:00:00Z');
const key = testKey();

const coded = (code: string) => (err: unknown) => err instanceof AirlockError && err.code === code;

/** A folder source and an all.zip source, with one record in both (the zip's newer). */
async function sources(dir: string): Promise<string[]> {
  const folder = join(dir, 'folder');
  await writeRecords(folder, [
    osvRecord('PYSEC-1', [['PyPI', 'Foo_Bar.baz']]),
    osvRecord('PYSEC-2', [['PyPI', 'requests']], '2024-01-01T00:00:00Z', { withdrawn: '2024-02-01T00:00:00Z' }),
    osvRecord('GHSA-1', [
      ['npm', '@Scope/Pkg'],
      ['PyPI', 'requests'],
    ]),
  ]);
  await writeRecords(join(dir, 'zipped'), [
    osvRecord('DSA-1', [['Debian:12', 'openssl']]),
    osvRecord('GHSA-1', [['npm', '@Scope/Pkg']], '2024-06-01T00:00:00.000Z'),
  ]);
  zipFolder(join(dir, 'zipped'), join(dir, 'all.zip'));
  return [folder, join(dir, 'all.zip')];
}

describe('buildVulnDb + openVulnDb', () => {
  it('indexes by (ecosystem, name), PyPI names by PEP 503, the newest duplicate kept and counted', async () => {
    const dir = await tempDir('vulndb-');
    const out = join(dir, 'vuln.db');
    const progress: BuildProgress[] = [];
    const built = await buildVulnDb({
      sources: await sources(dir),
      out,
      signer: key.signer,
      now: NOW,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(built.manifest.records, 4);
    assert.equal(built.manifest.duplicates, 1);
    assert.equal(built.manifest.withdrawn, 1);
    assert.deepEqual(built.manifest.ecosystems, { 'Debian:12': 1, PyPI: 2, npm: 1 });
    assert.deepEqual(built.manifest.sources, [
      { source: 'folder', records: 3 },
      { source: 'all.zip', records: 2 },
    ]);
    assert.equal(built.manifest.built, NOW.toISOString());
    assert.deepEqual(
      progress.map((p) => `${p.done}/${p.total}`),
      ['1/5', '2/5', '3/5', '4/5', '5/5'],
    );
    const db = openVulnDb(out);
    try {
      for (const name of ['Foo_Bar.baz', 'foo-bar-baz', 'FOO..bar__baz', 'foo.bar-baz'])
        assert.deepEqual(
          db.source.recordsFor('PyPI', name).map((r) => r.id),
          ['PYSEC-1'],
          name,
        );
      assert.deepEqual(
        db.source.recordsFor('PyPI', 'Requests').map((r) => r.id),
        ['PYSEC-2'],
      );
      // GHSA-1 from the zip is newer and no longer names PyPI requests: its old index rows went with it.
      const ghsa = db.source.recordsFor('npm', '@Scope/Pkg');
      assert.deepEqual(
        ghsa.map((r) => [r.id, r.modified]),
        [['GHSA-1', '2024-06-01T00:00:00.000Z']],
      );
      assert.deepEqual(db.source.recordsFor('npm', '@scope/pkg'), []);
      assert.deepEqual(
        db.source.recordsFor('Debian:12', 'openssl').map((r) => r.id),
        ['DSA-1'],
      );
      assert.deepEqual(db.source.recordsFor('Debian:11', 'openssl'), []);
      assert.equal(db.source.recordsFor('PyPI', 'requests')[0]?.withdrawn, '2024-02-01T00:00:00Z');
    } finally {
      db.close();
    }
    assert.equal((await verifyVulnDb(out, [key.publicKey], NOW)).manifest.contentSha256, built.manifest.contentSha256);
  });

  it('a record read twice with the same time keeps the first', async () => {
    const dir = await tempDir('vulndb-');
    await writeRecords(join(dir, 'a'), [osvRecord('X-1', [['PyPI', 'first']])]);
    await writeRecords(join(dir, 'b'), [osvRecord('X-1', [['PyPI', 'second']])]);
    const built = await buildVulnDb({ sources: [join(dir, 'a'), join(dir, 'b')], out: join(dir, 'db'), now: NOW });
    assert.equal(built.manifest.duplicates, 1);
    const db = openVulnDb(join(dir, 'db'));
    assert.equal(db.source.recordsFor('PyPI', 'first').length, 1);
    assert.equal(db.source.recordsFor('PyPI', 'second').length, 0);
    db.close();
  });

  it('an interrupted build leaves nothing under the output name, nor its temporary file', async () => {
    const dir = await tempDir('vulndb-');
    const src = join(dir, 'src');
    await writeRecords(src, [osvRecord('A-1', [['PyPI', 'a']]), osvRecord('A-2', [['PyPI', 'b']])]);
    await writeFile(join(src, 'x', 'Z-broken.json'), '{"id": "Z-broken", "modified": 3}');
    await assert.rejects(
      buildVulnDb({ sources: [src], out: join(dir, 'out', 'vuln.db'), now: NOW }),
      coded('E_INPUT_MISSING'),
    );
    await writeFile(join(dir, 'placeholder'), '');
    const out = join(dir, 'vuln.db');
    await assert.rejects(
      buildVulnDb({ sources: [src], out, now: NOW }),
      (err: unknown) => coded('E_INPUT_MALFORMED')(err) && /Z-broken\.json.*modified/.test((err as Error).message),
    );
    assert.deepEqual((await readdir(dir)).sort(), ['placeholder', 'src']);
  });

  it('refuses an existing output, a source that is not there, a zip entry too large', async () => {
    const dir = await tempDir('vulndb-');
    await writeFile(join(dir, 'exists.db'), 'x');
    await assert.rejects(
      buildVulnDb({ sources: [dir], out: join(dir, 'exists.db'), now: NOW }),
      coded('E_OUTPUT_EXISTS'),
    );
    await assert.rejects(
      buildVulnDb({ sources: [join(dir, 'none')], out: join(dir, 'a.db'), now: NOW }),
      coded('E_INPUT_MISSING'),
    );
    await writeFile(join(dir, 'not.zip'), 'not a zip');
    await assert.rejects(
      buildVulnDb({ sources: [join(dir, 'not.zip')], out: join(dir, 'b.db'), now: NOW }),
      coded('E_INPUT_MALFORMED'),
    );
    const big = join(dir, 'big');
    await writeRecords(big, [osvRecord('BIG-1', [['PyPI', 'a']], undefined, { details: ' '.repeat(9 * 2 ** 20) })]);
    zipFolder(big, join(dir, 'big.zip'));
    await assert.rejects(
      buildVulnDb({ sources: [join(dir, 'big.zip')], out: join(dir, 'c.db'), now: NOW }),
      (err: unknown) => coded('E_INPUT_MALFORMED')(err) && /BIG-1\.json/.test((err as Error).message),
    );
  });

  it('reads stored zip entries, and refuses one whose bytes no longer match its CRC-32', async () => {
    const dir = await tempDir('vulndb-');
    const zip = join(dir, 'stored.zip');
    const record = JSON.stringify(osvRecord('S-1', [['PyPI', 'stored']]));
    execFileSync('/usr/bin/python3', [
      '-c',
      'import sys, zipfile\n' +
        'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z: z.writestr("S-1.json", sys.argv[2])',
      zip,
      record,
    ]);
    const built = await buildVulnDb({ sources: [zip], out: join(dir, 'ok.db'), now: NOW });
    assert.equal(built.manifest.records, 1);
    const bytes = await readFile(zip);
    const at = bytes.indexOf('"stored"');
    assert.ok(at > 0);
    bytes[at + 1] = 'S'.charCodeAt(0);
    await writeFile(zip, bytes);
    await assert.rejects(
      buildVulnDb({ sources: [zip], out: join(dir, 'bad.db'), now: NOW }),
      (err: unknown) => coded('E_INPUT_MALFORMED')(err) && /S-1\.json.*CRC-32/.test((err as Error).message),
    );
  });

  it('normalises only PyPI names', () => {
    assert.equal(normalisePackageName('PyPI', 'Zope.Interface__x-y'), 'zope-interface-x-y');
    assert.equal(normalisePackageName('npm', 'Zope.Interface'), 'Zope.Interface');
    assert.equal(normalisePackageName('Debian:12', 'libssl3_x'), 'libssl3_x');
  });
});

describe('verifyVulnDb', () => {
  async function built(signed = true): Promise<string> {
    const dir = await tempDir('vulndb-verify-');
    const out = join(dir, 'vuln.db');
    await buildVulnDb({ sources: await sources(dir), out, now: NOW, ...(signed ? { signer: key.signer } : {}) });
    return out;
  }

  it('refuses an unsigned database and one signed by another key (E_VULNDB_SIGNATURE)', async () => {
    await assert.rejects(verifyVulnDb(await built(false), [key.publicKey], NOW), coded('E_VULNDB_SIGNATURE'));
    const path = await built();
    await assert.rejects(verifyVulnDb(path, [testKey().publicKey], NOW), coded('E_VULNDB_SIGNATURE'));
    const ok = await verifyVulnDb(path, [testKey().publicKey, key.publicKey], NOW);
    assert.equal(ok.manifest.records, 4);
  });

  it('refuses a record, an index row or the schema edited after signing (E_VULNDB_TAMPERED)', async () => {
    const edits = [
      'UPDATE records SET json = replace(json, \'"fixed":"2.0"\', \'"fixed":"1.0"\') WHERE id = \'DSA-1\'',
      "DELETE FROM affected WHERE id = 'PYSEC-1'",
      "INSERT INTO affected VALUES ('PyPI', 'django', 'DSA-1')",
      'CREATE INDEX sneaky ON records (modified)',
    ];
    for (const sql of edits) {
      const path = await built();
      const db = new DatabaseSync(path);
      db.exec(sql);
      db.close();
      await assert.rejects(verifyVulnDb(path, [key.publicKey], NOW), coded('E_VULNDB_TAMPERED'), sql);
    }
  });

  it('refuses a file whose pages were damaged after signing (E_VULNDB_TAMPERED)', async () => {
    const path = await built();
    const bytes = await readFile(path);
    const pageSize = bytes.readUInt16BE(16);
    // The records' pages follow the schema page; garbage over one of them (keeping the manifest's page).
    bytes.fill(0x5a, pageSize * 2 + 100, pageSize * 3);
    await writeFile(path, bytes);
    await assert.rejects(verifyVulnDb(path, [key.publicKey], NOW), coded('E_VULNDB_TAMPERED'));
  });

  it('refuses a manifest edited after signing (E_VULNDB_SIGNATURE) and a file that is no database', async () => {
    const path = await built();
    const db = new DatabaseSync(path);
    db.exec("UPDATE meta SET value = replace(value, '2026-12-01', '2026-12-05') WHERE key = 'manifest'");
    db.close();
    await assert.rejects(verifyVulnDb(path, [key.publicKey], NOW), coded('E_VULNDB_SIGNATURE'));
    await writeFile(path, 'not sqlite at all');
    await assert.rejects(verifyVulnDb(path, [key.publicKey], NOW), coded('E_INPUT_MALFORMED'));
  });
});
