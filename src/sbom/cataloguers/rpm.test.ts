import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { parseRpmHeader, parseSourceRpm, RPM_TAG } from './rpm-header.ts';
import { rpmCataloguer, rpmSqlitePackages } from './rpm.ts';

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** A header blob as rpm stores it: il, dl, index entries, data (strings NUL-terminated, int32 aligned). */
function headerBlob(tags: ReadonlyArray<[number, string | number]>): Buffer {
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let size = 0;
  for (const [tag, value] of tags) {
    let bytes: Buffer;
    if (typeof value === 'number') {
      const pad = (4 - (size % 4)) % 4;
      if (pad) data.push(Buffer.alloc(pad));
      size += pad;
      bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(value);
    } else bytes = Buffer.from(`${value}\0`);
    const entry = Buffer.alloc(16);
    entry.writeUInt32BE(tag, 0);
    entry.writeUInt32BE(typeof value === 'number' ? 4 : 6, 4);
    entry.writeUInt32BE(size, 8);
    entry.writeUInt32BE(1, 12);
    index.push(entry);
    data.push(bytes);
    size += bytes.length;
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(tags.length, 0);
  head.writeUInt32BE(size, 4);
  return Buffer.concat([head, ...index, ...data]);
}

const TINY: Array<[number, string | number]> = [
  [RPM_TAG.NAME, 'tiny'],
  [RPM_TAG.VERSION, '1.0'],
  [RPM_TAG.RELEASE, '3.fc40'],
  [RPM_TAG.EPOCH, 2],
  [RPM_TAG.ARCH, 'x86_64'],
  [RPM_TAG.SOURCERPM, 'tiny-src-1.0-3.fc40.src.rpm'],
  [RPM_TAG.LICENSE, 'MIT'],
];

/** An rpmdb.sqlite-shaped database holding these header blobs, as bytes, left in WAL mode like rpm's. */
function sqliteOf(blobs: readonly Uint8Array[]): Buffer {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
  for (const b of blobs) insert.run(b);
  const bytes = Buffer.from(db.serialize());
  db.close();
  bytes[18] = 2;
  bytes[19] = 2;
  return bytes;
}

describe('rpm header', () => {
  it('reads the tags a listing needs', () => {
    assert.deepEqual(parseRpmHeader(headerBlob(TINY)), {
      name: 'tiny',
      version: '1.0',
      release: '3.fc40',
      epoch: 2,
      arch: 'x86_64',
      sourceRpm: 'tiny-src-1.0-3.fc40.src.rpm',
      license: 'MIT',
    });
    assert.deepEqual(parseSourceRpm('tiny-src-1.0-3.fc40.src.rpm'), { name: 'tiny-src', version: '1.0-3.fc40' });
    assert.equal(parseSourceRpm('nonsense'), undefined);
  });

  it('refuses a header whose counts, offsets or strings run past its bytes', () => {
    const good = headerBlob(TINY);
    const cases: Array<[string, Buffer]> = [
      ['truncated', good.subarray(0, good.length - 5)],
      ['too short', good.subarray(0, 6)],
      ['huge il', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), good.subarray(4)])],
    ];
    const offsetPast = Buffer.from(good);
    offsetPast.writeUInt32BE(0xffff, 8 + 8);
    cases.push(['offset past the data', offsetPast]);
    const unterminated = Buffer.from(good);
    unterminated[unterminated.length - 1] = 0x41;
    cases.push(['string without NUL', unterminated]);
    const wrongType = Buffer.from(good);
    wrongType.writeUInt32BE(4, 8 + 4);
    cases.push(['NAME typed int32', wrongType]);
    for (const [what, blob] of cases) assert.throws(() => parseRpmHeader(blob), Error, what);
  });
});

describe('rpm cataloguer', () => {
  const tmp = useTempDir('airlock-rpm-');

  it('lists an rpmdb.sqlite (WAL mode, as rpm leaves it) and notes a malformed header', () => {
    const bytes = sqliteOf([headerBlob(TINY), Buffer.from('junk'), headerBlob(TINY.filter(([t]) => t !== 1003))]);
    const r = rpmSqlitePackages(bytes, '/var/lib/rpm/rpmdb.sqlite');
    assert.deepEqual(
      r.packages.map((p) => [p.name, p.version, p.arch, p.source?.name, p.source?.version, p.licenses.join()]),
      [
        ['tiny', '2:1.0-3.fc40', 'x86_64', 'tiny-src', '1.0-3.fc40', 'MIT'],
        ['tiny', '1.0-3.fc40', 'x86_64', 'tiny-src', '1.0-3.fc40', 'MIT'],
      ],
    );
    assert.equal(r.notes?.length, 1);
    assert.match(r.notes?.[0] ?? '', /header 2 is malformed/);
    assert.match(rpmSqlitePackages(Buffer.from('not a database at all'), '/x').notes?.[0] ?? '', /not an sqlite/);
  });

  it('says plainly that BerkeleyDB and NDB databases are not read', async () => {
    for (const path of ['/var/lib/rpm/Packages', '/usr/lib/sysimage/rpm/Packages.db']) {
      const file = { path, size: 4, executable: false };
      assert.equal(rpmCataloguer.wants(file), true);
      const r = await rpmCataloguer.read(file, Readable.from([Buffer.from('\0\0\0\0')]));
      assert.deepEqual(r.packages, []);
      assert.match(r.notes?.[0] ?? '', /not read: BerkeleyDB\/NDB formats are not supported/);
      assert.deepEqual(r.unread, r.notes);
    }
    assert.equal(rpmCataloguer.wants({ path: '/usr/lib/sysimage/rpm/rpmdb.sqlite', size: 1, executable: false }), true);
    assert.equal(rpmCataloguer.wants({ path: '/srv/rpmdb.sqlite', size: 1, executable: false }), false);
  });

  it('agrees with `rpm -qa` over a database rpm itself wrote', async (t) => {
    if (!has('rpm') || !has('rpmbuild')) return t.skip('rpm or rpmbuild not installed');
    const top = join(tmp, 'top');
    const db = join(tmp, 'db');
    await mkdir(join(top, 'SPECS'), { recursive: true });
    await mkdir(db, { recursive: true });
    const specs = [
      ['airlock-one', '1.2.3', '4.el9', 'Epoch: 2\n', 'MIT and (Apache-2.0 or BSD)'],
      ['airlock-two', '0.9~rc1', '1', '', 'GPL-2.0-or-later'],
    ];
    for (const [name, version, release, epoch, license] of specs) {
      const spec = join(top, 'SPECS', `${name}.spec`);
      await writeFile(
        spec,
        `Name: ${name}\nVersion: ${version}\nRelease: ${release}\n${epoch}Summary: s\nLicense: ${license}\n` +
          'BuildArch: noarch\n%description\nd\n%files\n',
      );
      const built = spawnSync('rpmbuild', ['--define', `_topdir ${top}`, '-bb', spec], { encoding: 'utf8' });
      assert.equal(built.status, 0, built.stderr);
    }
    const rpm = (...args: string[]) =>
      spawnSync('rpm', ['--dbpath', db, '--define', '_db_backend sqlite', ...args], { encoding: 'utf8' });
    assert.equal(rpm('--initdb').status, 0);
    const rpms = (await readdir(join(top, 'RPMS/noarch'))).map((f) => join(top, 'RPMS/noarch', f));
    const installed = rpm('-i', '--justdb', '--nodeps', ...rpms);
    assert.equal(installed.status, 0, installed.stderr);
    const qf = '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{LICENSE}\\n';
    const theirs = rpm('-qa', '--qf', qf).stdout.trim().split('\n').sort();
    const bytes = await readFile(join(db, 'rpmdb.sqlite'));
    const mine = rpmSqlitePackages(bytes, '/var/lib/rpm/rpmdb.sqlite')
      .packages.map((p) =>
        [p.name, p.version, p.arch, `${p.source?.name}-${p.source?.version}.src.rpm`, p.licenses.join()].join('\t'),
      )
      .sort();
    assert.equal(theirs.length, 2);
    assert.deepEqual(mine, theirs);
  });
});
