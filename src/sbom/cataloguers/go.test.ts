// The Go cataloguer: module information as Go parses it, then ground truth — a program built here with
// Debian's golang-go from a module that requires two modules replaced by local folders, and the Go
// programs Debian installs (skopeo, the go tool itself), each compared with `go version -m`: the same
// modules and versions, the replacement where there is one, and the Go version, in both directions.
// It also measures how fast the stream search runs over a large executable with no Go build info.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { catalogueFolder } from '../../../test/helpers/cataloguer-files.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import { goCataloguer, goPackages, parseModinfo } from './go.ts';
import { scanBuildInfo } from './go-buildinfo.ts';

const run = promisify(execFile);
const GO = '/usr/bin/go';
const PYTHON = '/usr/bin/python3';
const DEBIAN_GO_PROGRAMS = ['/usr/bin/skopeo', '/usr/lib/go-1.19/bin/go'];

describe('go cataloguer: module information', () => {
  it('reads main, deps, replacements and settings as runtime/debug does', () => {
    const info = parseModinfo(
      'go1.21.0 X:boringcrypto',
      [
        'path\texample.com/cmd/x',
        'mod\texample.com\tv1.0.0\th1:m=',
        'dep\tgolang.org/x/sys\tv0.1.0\th1:s=',
        'dep\texample.com/a\tv1.2.3',
        '=>\t../a\t(devel)\t',
        'build\t-ldflags=-s -w',
        'build\tGOARCH=arm64',
        '',
      ].join('\n'),
    );
    assert.deepEqual(info.main, { path: 'example.com', version: 'v1.0.0', sum: 'h1:m=' });
    assert.deepEqual(info.deps[1], {
      path: 'example.com/a',
      version: 'v1.2.3',
      replace: { path: '../a', version: '(devel)' },
    });
    assert.deepEqual(info.settings, [
      ['-ldflags', '-s -w'],
      ['GOARCH', 'arm64'],
    ]);
    const names = goPackages(info, '/x').map((p) => `${p.name} ${p.version} ${p.arch}`);
    assert.deepEqual(names, [
      'example.com v1.0.0 arm64',
      'golang.org/x/sys v0.1.0 arm64',
      '../a (devel) arm64',
      'stdlib go1.21.0 arm64',
    ]);
  });
  it('gives a binary with only a path its path at (devel), and stdlib', () => {
    const packages = goPackages(parseModinfo('go1.19.8', 'path\tgithub.com/c/s/cmd/s\nbuild\t-compiler=gc\n'), '/s');
    assert.deepEqual(
      packages.map((p) => `${p.name} ${p.version}`),
      ['github.com/c/s/cmd/s (devel)', 'stdlib go1.19.8'],
    );
    assert.deepEqual(
      goPackages(parseModinfo('go1.19.8', ''), '/s').map((p) => p.name),
      ['stdlib'],
    );
  });
  it('refuses malformed module information', () => {
    assert.throws(() => parseModinfo('go1', 'dep\tonly-a-path\n'), /expected 2 or 3 columns/);
    assert.throws(() => parseModinfo('go1', '=>\t../a\t(devel)\t\n'), /unexpected replacement/);
    assert.throws(() => parseModinfo('go1', 'dep\ta\tv1\n=>\t../a\n'), /unexpected replacement/);
    assert.throws(() => parseModinfo('go1', 'what\tever\n'), /unexpected line/);
  });
  it('wants executables over 64 KiB only', () => {
    assert.equal(goCataloguer.wants({ path: '/usr/bin/x', size: 2 << 20, executable: true }), true);
    assert.equal(goCataloguer.wants({ path: '/usr/bin/x', size: 2 << 20, executable: false }), false);
    assert.equal(goCataloguer.wants({ path: '/usr/bin/x', size: 1000, executable: true }), false);
  });
});

/** What `go version -m` shows, as the packages the module comment of go.ts says it reports. */
async function goVersionListing(binary: string): Promise<string[]> {
  const { stdout } = await run(GO, ['version', '-m', binary]);
  const [first = '', ...lines] = stdout.split('\n');
  const goVersion = first.slice(first.indexOf(': ') + 2).trim();
  const listing: string[] = [`stdlib ${goVersion}`];
  let path: string | undefined;
  let hasMain = false;
  for (const line of lines) {
    const [, kind, name, version] = line.split('\t');
    if (kind === 'path') path = name;
    else if (kind === 'mod' || kind === 'dep') {
      hasMain ||= kind === 'mod';
      listing.push(`${name} ${version}`);
    } else if (kind === '=>') listing[listing.length - 1] = `${name} ${version}`;
  }
  if (!hasMain && path) listing.push(`${path} (devel)`);
  return listing.sort();
}

async function ourListing(binary: string): Promise<string[]> {
  const file = { path: binary, size: (await stat(binary)).size, executable: true };
  const result = await goCataloguer.read(file, createReadStream(binary));
  assert.deepEqual(result.notes ?? [], []);
  return result.packages.map((p) => `${p.name} ${p.version}`).sort();
}

const FILES: Record<string, string> = {
  'a/go.mod': 'module example.com/a\n\ngo 1.19\n',
  'a/a.go': 'package a\n\nfunc A() string { return "a" }\n',
  'b/go.mod': 'module example.com/b/v2\n\ngo 1.19\n',
  'b/b.go': 'package b\n\nfunc B() string { return "b" }\n',
  'prog/go.mod': [
    'module example.com/prog\n\ngo 1.19\n',
    'require (',
    '\texample.com/a v1.2.3',
    '\texample.com/b/v2 v2.0.0-20240101000000-abcdefabcdef',
    '\texample.com/c v1.4.0',
    ')\n',
    'replace example.com/a => ../a\n',
    'replace example.com/b/v2 v2.0.0-20240101000000-abcdefabcdef => ../b\n',
  ].join('\n'),
  'prog/main.go': [
    'package main\n',
    'import (\n\t"os"\n\n\t"example.com/a"\n\tb "example.com/b/v2"\n\t"example.com/c"\n)\n',
    'func main() { os.Stdout.WriteString(a.A() + b.B() + c.C() + "\\n") }\n',
  ].join('\n'),
  // example.com/c comes, unreplaced, from a module proxy in a folder (GOPROXY=file://), as from a mirror.
  'proxy/example.com/c/@v/list': 'v1.4.0\n',
  'proxy/example.com/c/@v/v1.4.0.info': '{"Version":"v1.4.0","Time":"2024-01-01T00:00:00Z"}',
  'proxy/example.com/c/@v/v1.4.0.mod': 'module example.com/c\n\ngo 1.19\n',
};

/** The proxy's module zip, written with Python's zipfile (paths prefixed `module@version/`). */
const MODULE_ZIP = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('example.com/c@v1.4.0/go.mod', 'module example.com/c\\n\\ngo 1.19\\n')
    z.writestr('example.com/c@v1.4.0/c.go', 'package c\\n\\nfunc C() string { return "c" }\\n')
`;

describe('go cataloguer against go version -m', () => {
  const dir = useTempDir('airlock-go-');
  it('lists what go version -m shows for a program built here with replaced modules', async (t) => {
    if (!existsSync(GO) || !existsSync(PYTHON)) return t.skip(`${GO} or ${PYTHON} not installed`);
    for (const [path, text] of Object.entries(FILES)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    await run(PYTHON, ['-c', MODULE_ZIP, join(dir, 'proxy/example.com/c/@v/v1.4.0.zip')]);
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      GOFLAGS: '-mod=mod -modcacherw',
      GOPROXY: `file://${join(dir, 'proxy')}`,
      GOSUMDB: 'off',
      GOCACHE: join(dir, 'cache'),
      GOPATH: join(dir, 'gopath'),
    };
    await run(GO, ['build', '-o', join(dir, 'out/prog'), '.'], { cwd: join(dir, 'prog'), env, timeout: 300_000 });
    const expected = await goVersionListing(join(dir, 'out/prog'));
    assert.deepEqual(await ourListing(join(dir, 'out/prog')), expected);
    for (const module of ['../a (devel)', '../b (devel)', 'example.com/c v1.4.0', 'example.com/prog (devel)'])
      assert.ok(expected.includes(module), `${module} not in ${expected.join(', ')}`);
    // Through the folder helper too: the program is the one Go package found in the output folder.
    const found = await catalogueFolder(join(dir, 'out'), [goCataloguer]);
    assert.equal(found.packages.length, expected.length);
  });
  for (const binary of DEBIAN_GO_PROGRAMS)
    it(`lists what go version -m shows for Debian's ${binary}`, async (t) => {
      if (!existsSync(GO) || !existsSync(binary)) return t.skip(`${GO} or ${binary} not installed`);
      const expected = await goVersionListing(binary);
      assert.deepEqual(await ourListing(binary), expected);
      assert.ok(expected.some((l) => l.startsWith('stdlib go1.')));
    });
  it('measures the stream search over large executables', async (t) => {
    const read = async (binary: string) => {
      for await (const _ of createReadStream(binary, { highWaterMark: 1 << 16 }));
    };
    const timed = async (binary: string, what: () => Promise<unknown>) => {
      await read(binary); // the file in the page cache, so both runs read from memory
      const start = performance.now();
      await what();
      const ms = performance.now() - start;
      const mb = (await stat(binary)).size / 1e6;
      return `${mb.toFixed(0)} MB in ${ms.toFixed(0)} ms (${(mb / (ms / 1000)).toFixed(0)} MB/s)`;
    };
    for (const binary of [process.execPath, ...DEBIAN_GO_PROGRAMS.filter((b) => existsSync(b))]) {
      const floor = await timed(binary, () => read(binary));
      const scan = await timed(binary, () => scanBuildInfo(createReadStream(binary, { highWaterMark: 1 << 16 })));
      t.diagnostic(`${binary}: build-info search ${scan}; reading alone ${floor}`);
    }
    assert.deepEqual(await scanBuildInfo(createReadStream(process.execPath)), { kind: 'none' });
  });
});
