// `airlock sbom` over the real Debian image (test/helpers/sbom-image.ts) against each ecosystem's own
// tool run over the same tree (the squashed rootfs, deletions applied): 100% agreement, both directions.
//   - Python: Debian's /usr/bin/python3 running importlib.metadata.distributions() over every
//     site-packages and dist-packages folder of the rootfs (the whited-out PyYAML absent on both sides);
//   - Go: Debian's /usr/bin/go `version -m` over every executable regular file of the rootfs, read as
//     src/sbom/cataloguers/go.ts says (main module, deps with a `=>` replacement reported as the
//     replacement, `stdlib` at the Go version), per file;
//   - npm: `npm ls --all --json --long` in the app folder, flattened, by name, version and folder.
// dpkg is checked against dpkg-query in sbom-image.test.ts. Then every package has a purl and an OSV
// ecosystem, and `airlock sbom IMAGE -o spdx-json` writes a document the official SPDX 2.3 schema
// accepts that reads back (readSbom) to the same packages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readSbom } from '../../src/sbom/formats/index.ts';
import { catalogueImageReference } from '../../src/sbom/image-sbom.ts';
import type { Catalogue, CataloguedPackage } from '../../src/sbom/package.ts';
import { runCli } from '../helpers/cli.ts';
import { sbomImageMissing, type SbomTestImage, sbomTestImage } from '../helpers/sbom-image.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODEW = join(ROOT, 'scripts/nodew');
const PYTHON = '/usr/bin/python3';
const GO = '/usr/bin/go';
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const SPDX_SCHEMA = new URL('../fixtures/spdx/spdx-schema-2.3.json', import.meta.url);

const missing =
  sbomImageMissing() ??
  (existsSync(PYTHON) ? undefined : `${PYTHON} not installed (apt-get install python3)`) ??
  (existsSync(GO) ? undefined : `${GO} not installed (apt-get install golang-go)`);

function run(file: string, args: readonly string[], options: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (r.error) throw new Error(`${file}: ${r.error.message}`);
  return r;
}

/** Both directions of a comparison of two multisets of lines, with the differences in the message. */
function assertSame(ours: readonly string[], theirs: readonly string[], tool: string): void {
  const a = [...ours].sort();
  const b = [...theirs].sort();
  const onlyOurs = a.filter((l) => !b.includes(l));
  const onlyTheirs = b.filter((l) => !a.includes(l));
  assert.deepEqual(onlyOurs, [], `listed by airlock, not by ${tool}`);
  assert.deepEqual(onlyTheirs, [], `listed by ${tool}, not by airlock`);
  assert.deepEqual(a, b, `the same lines, as many times each (airlock vs ${tool})`);
}

const IMPORTLIB = `
import importlib.metadata, json, sys
paths = json.load(sys.stdin)
print(json.dumps(sorted(
    [d.metadata["Name"], d.version] for d in importlib.metadata.distributions(path=paths)
)))
`;

/** (name, version) of every distribution importlib.metadata finds in the rootfs's package folders. */
function importlibDistributions(rootfs: string): { lines: string[]; folders: string[] } {
  const find = run('find', [rootfs, '-type', 'd', '(', '-name', 'site-packages', '-o', '-name', 'dist-packages', ')']);
  assert.equal(find.status, 0, find.stderr);
  const folders = find.stdout.trim().split('\n').filter(Boolean).sort();
  const r = run(PYTHON, ['-I', '-c', IMPORTLIB], { input: JSON.stringify(folders) });
  assert.equal(r.status, 0, r.stderr);
  const found = JSON.parse(r.stdout) as [string, string][];
  return { lines: found.map(([n, v]) => `${n}\t${v}`), folders };
}

/**
 * `go version -m` over every executable regular file (symlinks are left out: an absolute one would point
 * at the host), as `file<TAB>module<TAB>version` lines by go.ts's rule.
 */
function goVersionM(rootfs: string): { lines: string[]; binaries: string[]; candidates: number } {
  const find = run('find', [rootfs, '-type', 'f', '-perm', '/111']);
  assert.equal(find.status, 0, find.stderr);
  const candidates = find.stdout.trim().split('\n').filter(Boolean);
  // Files that are not Go binaries make it exit 1 with a message each on stderr; stdout has the rest.
  const r = run(GO, ['version', '-m', ...candidates]);
  const lines: string[] = [];
  const binaries: string[] = [];
  let file = '';
  let goVersion = '';
  let main: [string, string] | undefined;
  let deps: [string, string][] = [];
  const flush = () => {
    if (!file) return;
    for (const [path, version] of [...(main ? [main] : []), ...deps]) lines.push(`${file}\t${path}\t${version}`);
    lines.push(`${file}\tstdlib\t${goVersion}`);
  };
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    if (!line.startsWith('\t')) {
      flush();
      const m = /^(.*): (go\S+)$/.exec(line);
      assert.ok(m, `unexpected go version -m line: ${line}`);
      file = (m[1] ?? '').slice(rootfs.length);
      goVersion = m[2] ?? '';
      binaries.push(file);
      main = undefined;
      deps = [];
      continue;
    }
    const [kind = '', path = '', version = ''] = line.slice(1).split('\t');
    if (kind === 'path') main ??= [path, '(devel)'];
    else if (kind === 'mod') main = [path, version];
    else if (kind === 'dep') deps.push([path, version]);
    else if (kind === '=>') {
      // The replacement stands for the module on the line above it (the main module's or the last dep's).
      if (deps.length > 0) deps[deps.length - 1] = [path, version];
      else main = [path, version];
    }
  }
  flush();
  const failures = r.stderr.split('\n').filter((l) => l !== '' && !/could not read Go build info|not a Go/.test(l));
  assert.deepEqual(failures, [], 'go version -m reported something else than "not a Go binary"');
  return { lines, binaries, candidates: candidates.length };
}

interface NpmNode {
  readonly name?: string;
  readonly version?: string;
  readonly path?: string;
  readonly dependencies?: Record<string, NpmNode>;
}

/** `npm ls --all --json --long` in the app folder: `name<TAB>version<TAB>folder in the image` lines. */
function npmLs(rootfs: string, app: string): string[] {
  const r = run(NODEW, ['npm', 'ls', '--all', '--json', '--long'], { cwd: join(rootfs, app) });
  assert.equal(r.status, 0, r.stderr);
  const lines = new Set<string>();
  const walk = (node: NpmNode) => {
    for (const [key, dep] of Object.entries(node.dependencies ?? {})) {
      lines.add(`${dep.name ?? key}\t${dep.version}\t${(dep.path ?? '').slice(rootfs.length)}`);
      walk(dep);
    }
  };
  walk(JSON.parse(r.stdout) as NpmNode);
  return [...lines];
}

const OSV_ECOSYSTEMS: Readonly<Record<string, string>> = { deb: 'Debian:12', pypi: 'PyPI', npm: 'npm', golang: 'Go' };

const key = (p: CataloguedPackage) => [p.type, p.name, p.version, p.purl, p.ecosystem ?? '', p.foundIn].join('\t');

describe('airlock sbom against each ecosystem’s own tool, over the real Debian image', () => {
  let image: SbomTestImage;
  let catalogue: Catalogue;
  const dir = useTempDir('sbom-ground-truth-');

  before(async () => {
    if (missing) return;
    image = await sbomTestImage();
    const started = performance.now();
    catalogue = await catalogueImageReference(image.reference);
    const ms = performance.now() - started;
    const counts: Record<string, number> = {};
    for (const p of catalogue.packages) counts[p.type] = (counts[p.type] ?? 0) + 1;
    process.stderr.write(`# catalogued in ${ms.toFixed(0)} ms: ${JSON.stringify(counts)}\n`);
  });

  it('Python: exactly what importlib.metadata finds in every site-packages and dist-packages folder', (t) => {
    if (missing) return t.skip(missing);
    const { lines: theirs, folders } = importlibDistributions(image.rootfs);
    const ours = catalogue.packages.filter((p) => p.type === 'pypi').map((p) => `${p.name}\t${p.version}`);
    t.diagnostic(`importlib.metadata over ${folders.length} folders: ${theirs.join(', ').replaceAll('\t', ' ')}`);
    assertSame(ours, theirs, 'importlib.metadata');
    assert.ok(theirs.length >= 2, 'packaging and six are installed');
    assert.ok(!theirs.some((l) => /^pyyaml\t/i.test(l)), 'the whited-out PyYAML is gone for Python too');
    assert.ok(
      catalogue.packages.every((p) => !image.whitedOut.some((w) => p.foundIn.startsWith(`${w}/`))),
      'nothing was read from a whited-out folder',
    );
  });

  it('Go: exactly what `go version -m` reads from every executable, per file', (t) => {
    if (missing) return t.skip(missing);
    const { lines: theirs, binaries, candidates } = goVersionM(image.rootfs);
    const ours = catalogue.packages
      .filter((p) => p.type === 'golang')
      .map((p) => `${p.foundIn}\t${p.name}\t${p.version}`);
    t.diagnostic(`go version -m over ${candidates} executables: Go binaries ${binaries.join(', ')}`);
    assertSame(ours, theirs, 'go version -m');
    assert.ok(binaries.includes(image.goBinary) && binaries.includes('/usr/bin/skopeo'), binaries.join(', '));
    // The replaced modules are recorded as go.mod requires them, and reported as their local replacements.
    const hello = theirs.filter((l) => l.startsWith(`${image.goBinary}\t`));
    assert.equal(hello.length, 2 + image.goModules.length, hello.join('\n'));
    assert.ok(hello.includes(`${image.goBinary}\t${image.goMainModule}\t(devel)`));
    assert.equal(hello.filter((l) => l.startsWith(`${image.goBinary}\t./`)).length, image.goModules.length);
    for (const m of image.goModules) assert.ok(!hello.includes(`${image.goBinary}\t${m.path}\t${m.version}`));
    assert.ok(theirs.includes('/usr/bin/skopeo\tgithub.com/containers/skopeo/cmd/skopeo\t(devel)'));
  });

  it('npm: exactly what `npm ls --all --json` lists in the app folder, by name, version and folder', (t) => {
    if (missing) return t.skip(missing);
    const theirs = npmLs(image.rootfs, image.npmApp);
    const ours = catalogue.packages
      .filter((p) => p.type === 'npm')
      .map((p) => `${p.name}\t${p.version}\t${p.foundIn.replace(/\/package\.json$/, '')}`);
    t.diagnostic(`npm ls: ${theirs.map((l) => l.split('\t').slice(0, 2).join('@')).join(', ')}`);
    assertSame(ours, theirs, 'npm ls');
    assert.ok(ours.every((l) => l.split('\t')[2]?.startsWith(`${image.npmApp}/node_modules/`)));
    const names = (lines: string[]) => new Set(lines.map((l) => l.split('\t').slice(0, 2).join('\t')));
    assert.deepEqual(names(ours), names(theirs), 'the flattened (name, version) sets');
    assert.ok(theirs.some((l) => l.startsWith('ms\t2.0.0\t')) && theirs.some((l) => l.startsWith('ms\t2.1.3\t')));
  });

  it('every package has a purl of its type and, for deb, pypi, npm and golang, its OSV ecosystem', (t) => {
    if (missing) return t.skip(missing);
    assert.ok(catalogue.packages.length > 100);
    for (const p of catalogue.packages) {
      assert.ok(p.purl.startsWith(`pkg:${p.type}/`), `${p.name}: ${p.purl}`);
      assert.equal(p.ecosystem, OSV_ECOSYSTEMS[p.type], `${p.type} ${p.name}`);
    }
    assert.deepEqual(
      [...new Set(catalogue.packages.map((p) => p.type))].sort(),
      ['deb', 'golang', 'npm', 'pypi'],
      'the image holds no apk, rpm or Java packages',
    );
  });

  it('`airlock sbom -o spdx-json`: valid SPDX 2.3 (the official schema), read back to the same packages', async (t) => {
    if (missing) return t.skip(missing);
    const out = join(dir, 'image.spdx.json');
    const started = performance.now();
    const r = await runCli(['sbom', image.reference, '-o', 'spdx-json', '--output-file', out]);
    t.diagnostic(`airlock sbom -o spdx-json in ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(r.code, 0, r.stderr);
    const bytes = readFileSync(out);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(SPDX_SCHEMA, 'utf8')) as object);
    assert.equal(validate(JSON.parse(bytes.toString('utf8'))), true, JSON.stringify(validate.errors?.slice(0, 5)));
    const read = readSbom(bytes, out);
    assert.equal(read.subject?.digest, image.manifestDigest);
    assert.deepEqual(read.distro?.id, 'debian');
    assertSame(read.packages.map(key), catalogue.packages.map(key), 'the catalogue written (read back)');
  });
});
