// The npm cataloguer: unit cases on package.json shapes, then ground truth — packages installed from the
// npm registry by npm itself (a scoped package, and two versions of one package so that one must nest),
// compared with `npm ls --all --json --long` over the same tree: same (name, version, folder), both ways.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { catalogueFolder } from '../../../test/helpers/cataloguer-files.ts';
import { useTempDir } from '../../../test/helpers/temp-dir.ts';
import type { FoundPackage } from '../package.ts';
import { npmCataloguer, parsePackageJson } from './npm.ts';

const run = promisify(execFile);
const NODEW = fileURLToPath(new URL('../../../scripts/nodew', import.meta.url));
const file = (path: string, size = 100) => ({ path, size, executable: false });

describe('npm cataloguer: which files', () => {
  it('wants package roots under node_modules, scoped or not, at any nesting', () => {
    for (const path of [
      '/app/node_modules/a/package.json',
      '/node_modules/@s/b/package.json',
      '/usr/lib/node_modules/npm/node_modules/x/package.json',
      '/app/node_modules/a/lib/node_modules/@s/c/package.json',
    ])
      assert.equal(npmCataloguer.wants(file(path)), true, path);
  });
  it('does not want app roots, files inside packages, lockfiles or dot folders', () => {
    for (const path of [
      '/app/package.json',
      '/app/node_modules/a/lib/package.json',
      '/app/node_modules/@s/b/test/package.json',
      '/app/node_modules/.package-lock.json',
      '/app/node_modules/.bin/package.json',
      '/app/node_modules/@s/package.json',
      '/app/package-lock.json',
    ])
      assert.equal(npmCataloguer.wants(file(path)), false, path);
  });
});

describe('npm cataloguer: package.json', () => {
  it('reads name, version and the licence in each recorded shape', () => {
    const read = (json: object) => parsePackageJson(JSON.stringify({ name: 'x', version: '1.0.0', ...json }), '/p');
    assert.deepEqual(read({ license: 'MIT' }), {
      type: 'npm',
      name: 'x',
      version: '1.0.0',
      licenses: ['MIT'],
      foundIn: '/p',
    });
    assert.deepEqual((read({ license: { type: 'ISC', url: 'u' } }) as FoundPackage).licenses, ['ISC']);
    const legacy = read({ licenses: [{ type: 'MIT' }, 'Apache-2.0', { url: 'no type' }] });
    assert.deepEqual((legacy as FoundPackage).licenses, ['MIT', 'Apache-2.0']);
    assert.deepEqual((read({}) as FoundPackage).licenses, []);
  });
  it('turns what is not a package into a note, bounded', () => {
    assert.match(parsePackageJson('{', '/p') as string, /not JSON/);
    assert.match(parsePackageJson('[]', '/p') as string, /not an object/);
    assert.match(parsePackageJson('{"name":"x"}', '/p') as string, /no name or no version/);
    assert.match(parsePackageJson('{"version":"1"}', `/${'n'.repeat(5000)}`) as string, /more characters/);
  });
  it('reads a package.json with a byte order mark, and notes one too large', async () => {
    const ok = await npmCataloguer.read(
      file('/n/node_modules/a/package.json'),
      Readable.from([Buffer.from('\uFEFF{"name":"a","version":"2.0.0"}')]),
    );
    assert.equal(ok.packages[0]?.version, '2.0.0');
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const result = await npmCataloguer.read(file('/n/node_modules/a/package.json'), Readable.from([big]));
    assert.deepEqual(result.packages, []);
    assert.match(result.notes?.[0] ?? '', /larger than 4 MiB/);
    assert.deepEqual(result.unread, result.notes);
  });
});

interface LsNode {
  readonly name?: string;
  readonly version?: string;
  readonly path?: string;
  readonly dependencies?: Record<string, LsNode>;
}

/** Every installed node of `npm ls --all --json --long`, the root left out, as "name@version folder". */
function flatten(node: LsNode, root: string, into = new Set<string>()): Set<string> {
  for (const child of Object.values(node.dependencies ?? {})) {
    into.add(`${child.name}@${child.version} ${(child.path ?? '').slice(root.length)}`);
    flatten(child, root, into);
  }
  return into;
}

describe('npm cataloguer against npm ls', () => {
  const dir = useTempDir('airlock-npm-');
  it('lists exactly what npm ls lists for a real install', async (t) => {
    await writeFile(join(dir, 'package.json'), '{"name":"fixture-app","version":"1.0.0","private":true}');
    try {
      await run(
        NODEW,
        ['npm', 'install', '--no-audit', '--no-fund', 'is-number@6', 'to-regex-range@5', '@types/semver@7'],
        {
          cwd: dir,
          env: { ...process.env, NODEW_QUIET: '1' },
          timeout: 120_000,
        },
      );
    } catch (err) {
      t.skip(`npm registry not reachable: ${String(err).slice(0, 200)}`);
      return;
    }
    // A package.json inside a package that is not a package root: npm ls does not list it, nor may we.
    await mkdir(join(dir, 'node_modules/to-regex-range/test'), { recursive: true });
    await writeFile(join(dir, 'node_modules/to-regex-range/test/package.json'), '{"name":"t","version":"0.0.1"}');
    const ls = await run(NODEW, ['npm', 'ls', '--all', '--json', '--long'], { cwd: dir, maxBuffer: 64 << 20 });
    const expected = flatten(JSON.parse(ls.stdout) as LsNode, dir);
    const found = await catalogueFolder(dir, [npmCataloguer]);
    const actual = new Set(
      found.packages.map((p) => `${p.name}@${p.version} ${p.foundIn.replace(/\/package\.json$/, '')}`),
    );
    assert.deepEqual([...actual].sort(), [...expected].sort());
    assert.deepEqual(found.notes, []);
    // The tree really has what the case is about: a scoped package and one npm could not hoist.
    assert.ok([...actual].some((p) => p.startsWith('@types/semver@')));
    assert.ok([...actual].some((p) => p.startsWith('is-number@7') && p.includes('/to-regex-range/node_modules/')));
    assert.ok(found.packages.every((p) => p.licenses.length > 0));
  });
});
