import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { dpkgCataloguer, dpkgPackages } from './dpkg.ts';

// Every Status state dpkg knows, and the shapes of Source; dpkg-query decides which are listed.
const STATUS = `Package: installed
Status: install ok installed
Maintainer: m
Architecture: amd64
Source: src-one (1:1.0-1)
Version: 1:1.0-1+b1
Description: a package
 with a long description
 .
 over lines

Package: removed-config-kept
Status: deinstall ok config-files
Maintainer: m
Architecture: amd64
Version: 2.0
Description: d

Package: half
Status: install reinstreq half-installed
Maintainer: m
Architecture: all
Source: half-src
Version: 3.0
Description: d

Package: purged
Status: purge ok not-installed
Maintainer: m
Architecture: amd64
Description: d

Package: unpacked
Status: install ok unpacked
Maintainer: m
Architecture: arm64
Version: 5~rc1
Description: d

Package: triggers
Status: install ok triggers-pending
Maintainer: m
Architecture: amd64
Version: 6
Triggers-Pending: x
Description: d

Package: no-status
Maintainer: m
Architecture: amd64
Version: 7
Description: d
`;

interface Row {
  name: string;
  version: string;
  arch: string;
  sourceName: string;
  sourceVersion: string;
}

function ours(text: string, path = '/var/lib/dpkg/status'): Row[] {
  return dpkgPackages(text, path).packages.map((p) => ({
    name: p.name,
    version: p.version,
    arch: p.arch ?? '',
    sourceName: p.source?.name ?? p.name,
    sourceVersion: p.source?.version ?? p.version,
  }));
}

describe('dpkg cataloguer', () => {
  const tmp = useTempDir('airlock-dpkg-');

  it('lists exactly what dpkg-query -W lists (Status states, Source with and without version)', async (t) => {
    const mine = ours(STATUS);
    assert.deepEqual(
      mine.map((r) => r.name),
      ['installed', 'removed-config-kept', 'half', 'unpacked', 'triggers'],
    );
    assert.deepEqual(mine[0], {
      name: 'installed',
      version: '1:1.0-1+b1',
      arch: 'amd64',
      sourceName: 'src-one',
      sourceVersion: '1:1.0-1',
    });
    if (spawnSync('sh', ['-c', 'command -v dpkg-query']).status !== 0) return t.skip('dpkg-query not installed');
    await mkdir(join(tmp, 'info'), { recursive: true });
    await writeFile(join(tmp, 'status'), STATUS);
    const format = '${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\n';
    const r = spawnSync('dpkg-query', [`--admindir=${tmp}`, '-W', '-f', format], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [name = '', version = '', arch = '', sourceName = '', sourceVersion = ''] = l.split('\t');
        return { name, version, arch, sourceName, sourceVersion };
      });
    const key = (x: Row) => JSON.stringify(x);
    assert.deepEqual(mine.map(key).sort(), theirs.map(key).sort());
  });

  it('a status file over the size cap is unread (not evaluated), not only a note', async () => {
    const file = { path: '/var/lib/dpkg/status', size: 65 * 1024 * 1024, executable: false };
    const big = Readable.from(
      (function* () {
        for (let i = 0; i < 65; i++) yield Buffer.alloc(1024 * 1024, 0x61);
      })(),
    );
    const r = await dpkgCataloguer.read(file, big);
    assert.deepEqual(r.packages, []);
    assert.match(r.unread?.[0] ?? '', /larger than 64 MiB; not read/);
  });

  it('reports a malformed stanza in a note and keeps the others', () => {
    const text = [
      'Package: good\nStatus: install ok installed\nVersion: 1\n',
      'this is not a field\nPackage: bad\n',
      ' continuation without a field\n',
      'Package: good2\nStatus: install ok installed\nVersion: 2\n',
    ].join('\n');
    const r = dpkgPackages(text, '/var/lib/dpkg/status');
    assert.deepEqual(
      r.packages.map((p) => p.name),
      ['good', 'good2'],
    );
    assert.equal(r.notes?.length, 2);
    assert.match(r.notes?.[0] ?? '', /line 5/);
  });

  it('reads distroless status.d files (no Status field) and leaves their md5sums alone', async () => {
    const file = (path: string) => ({ path, size: 10, executable: false });
    assert.equal(dpkgCataloguer.wants(file('/var/lib/dpkg/status.d/libssl3')), true);
    assert.equal(dpkgCataloguer.wants(file('/var/lib/dpkg/status.d/libssl3.md5sums')), false);
    assert.equal(dpkgCataloguer.wants(file('/var/lib/dpkg/status-old')), false);
    assert.equal(dpkgCataloguer.wants(file('/var/lib/dpkg/status.d/sub/x')), false);
    const stanza = 'Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl\n';
    const r = await dpkgCataloguer.read(file('/var/lib/dpkg/status.d/libssl3'), Readable.from([Buffer.from(stanza)]));
    assert.deepEqual(r.packages, [
      {
        type: 'deb',
        name: 'libssl3',
        version: '3.0.11-1~deb12u2',
        arch: 'amd64',
        source: { name: 'openssl' },
        licenses: [],
        foundIn: '/var/lib/dpkg/status.d/libssl3',
      },
    ]);
    // The same stanza in the main status file, without Status, is not listed (dpkg-query does not).
    assert.deepEqual(ours(stanza), []);
  });
});
