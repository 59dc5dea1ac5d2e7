// The Python cataloguer: header parsing cases, then ground truth — Debian's python3 running
// `importlib.metadata.distributions(path=[DIR])` over a real site-packages folder (Debian's own
// dist-packages: dist-info folders, egg-info folders and egg-info files) and over one made here with the
// awkward cases; the same (name, version, metadata location) in both directions.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { catalogueFolder } from '../../../test/helpers/cataloguer-files.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import type { FoundPackage } from '../package.ts';
import { parseCoreMetadata, parseHeaders, pythonCataloguer } from './python.ts';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const SITE_PACKAGES = '/usr/lib/python3/dist-packages';
const file = (path: string) => ({ path, size: 100, executable: false });

const LISTING = `
import importlib.metadata as m, json, os, sys
root = sys.argv[1]
out = []
for d in m.distributions(path=[root]):
    if d.version is None: continue
    out.append([d.metadata['Name'], d.version, '/' + os.path.relpath(str(d._path), root)])
print(json.dumps(out))
`;

/** What importlib.metadata lists under `root`, as "name version /location". */
async function importlibListing(root: string): Promise<string[]> {
  const { stdout } = await run(PYTHON, ['-c', LISTING, root], { maxBuffer: 16 << 20 });
  return (JSON.parse(stdout) as string[][]).map(([n, v, p]) => `${n} ${v} ${p}`).sort();
}

async function ourListing(root: string): Promise<{ listing: string[]; notes: string[] }> {
  const found = await catalogueFolder(root, [pythonCataloguer]);
  const location = (p: FoundPackage) => p.foundIn.replace(/\/(METADATA|PKG-INFO)$/, '');
  return { listing: found.packages.map((p) => `${p.name} ${p.version} ${location(p)}`).sort(), notes: found.notes };
}

describe('python cataloguer: which files', () => {
  it('wants dist-info METADATA, egg-info PKG-INFO and egg-info files', () => {
    for (const path of [
      '/s/a-1.dist-info/METADATA',
      '/s/b.egg-info/PKG-INFO',
      '/s/c-1.egg-info',
      '/s/D-1.DIST-INFO/METADATA',
    ])
      assert.equal(pythonCataloguer.wants(file(path)), true, path);
    for (const path of ['/s/a-1.dist-info/RECORD', '/s/METADATA', '/s/b.egg-info/requires.txt', '/s/x.egg'])
      assert.equal(pythonCataloguer.wants(file(path)), false, path);
  });
});

describe('python cataloguer: core metadata', () => {
  it('splits headers as the email parser does: continuation lines, case-insensitive names', () => {
    assert.deepEqual(parseHeaders('Name:  x\nLICENSE: a\n  b\nno colon\n'), [
      { name: 'name', value: 'x' },
      { name: 'license', value: 'a\n  b' },
    ]);
  });
  it('takes the licence from License-Expression, else a one-line License, else classifiers', () => {
    const licences = (extra: string) =>
      (parseCoreMetadata(`Name: x\nVersion: 1\n${extra}`, '/m') as FoundPackage).licenses;
    assert.deepEqual(licences('License: BSD\nLicense-Expression: MIT OR Apache-2.0\n'), ['MIT OR Apache-2.0']);
    assert.deepEqual(licences('License: BSD-3-Clause\n'), ['BSD-3-Clause']);
    const classifiers = 'Classifier: License :: OSI Approved :: MIT License\nClassifier: Topic :: X\n';
    assert.deepEqual(licences(`License: Copyright (c)\n  all the text\n${classifiers}`), ['MIT License']);
    assert.deepEqual(licences(`License: UNKNOWN\n${classifiers}`), ['MIT License']);
    assert.deepEqual(licences(''), []);
  });
  it('notes metadata with no name or version, bounded', () => {
    assert.match(parseCoreMetadata('Name: x\n', '/m') as string, /no Name or no Version/);
    assert.match(parseCoreMetadata('Version: 1\n', `/${'x'.repeat(4000)}`) as string, /more characters/);
  });
  it('reads only the headers: a long description after them is not read', async () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    let pulled = 0;
    const chunks = (function* () {
      yield Buffer.from('Name: big\nVersion: 1.0\n\n');
      for (let i = 0; i < body.length; i += 65536) {
        pulled++;
        yield body.subarray(i, i + 65536);
      }
    })();
    const result = await pythonCataloguer.read(file('/s/big-1.0.dist-info/METADATA'), Readable.from(chunks));
    assert.equal(result.packages[0]?.name, 'big');
    assert.ok(pulled < 4, `read ${pulled} chunks of the body`);
    const huge = await pythonCataloguer.read(
      file('/s/h.dist-info/METADATA'),
      Readable.from([Buffer.from('Name: h\n'), body]),
    );
    assert.match(huge.notes?.[0] ?? '', /headers over 1 MiB/);
    assert.deepEqual(huge.unread, huge.notes);
  });
});

describe('python cataloguer against importlib.metadata', () => {
  const dir = useTempDir('airlock-python-');
  it('lists what importlib lists in Debian dist-packages', async (t) => {
    if (!existsSync(PYTHON) || !existsSync(SITE_PACKAGES)) return t.skip(`${PYTHON} or ${SITE_PACKAGES} not installed`);
    const expected = await importlibListing(SITE_PACKAGES);
    const ours = await ourListing(SITE_PACKAGES);
    assert.ok(expected.length >= 10, `only ${expected.length} distributions in ${SITE_PACKAGES}`);
    assert.deepEqual(ours.listing, expected);
    assert.deepEqual(ours.notes, []);
  });
  it('lists what importlib lists in a site-packages folder with the awkward cases', async (t) => {
    if (!existsSync(PYTHON)) return t.skip(`${PYTHON} not installed`);
    const files: Record<string, string> = {
      'Alpha_Pkg-1.0.post1.dist-info/METADATA':
        'Metadata-Version: 2.4\nName: Alpha_Pkg\nVersion: 1.0.post1\nLicense-Expression: MIT\n\nName: wrong\n',
      'beta-2.0rc1.egg-info/PKG-INFO':
        'Metadata-Version: 1.1\r\nName: beta\r\nVersion: 2.0rc1\r\nLicense: A\r\n  B\r\n',
      'gamma-0.1.egg-info': 'Metadata-Version: 1.0\nname: gamma\nversion:   0.1-dev\n',
      'delta.egg-info/PKG-INFO': 'Metadata-Version: 1.0\nName: delta\nVersion: 3!1.0+local.7\n',
      'noversion-1.dist-info/METADATA': 'Metadata-Version: 2.1\nName: noversion\n',
    };
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    const expected = await importlibListing(dir);
    const ours = await ourListing(dir);
    assert.equal(expected.length, 4);
    assert.deepEqual(ours.listing, expected);
    assert.equal(ours.notes.length, 1);
    assert.match(ours.notes[0] ?? '', /noversion-1\.dist-info\/METADATA records no Name or no Version/);
  });
});
