// The real image the SBOM tests read: Debian bookworm from mmdebstrap (the `essential` variant, plus
// python3-six, python3-yaml, python3-packaging and skopeo, a Go program Debian builds), then layers this
// helper makes: (1) a Go program built with Debian's /usr/bin/go whose go.mod requires two modules
// replaced by local folders (GOPROXY=off, GOFLAGS=-mod=mod: the build info still records each module
// and version); (2) an app whose node_modules `npm install` fetched from the npm registry (a scoped
// package and a nested dependency); (3) whiteouts of one Python package's dist-info folder and of one
// file dpkg lists; (4) an opaque directory. Written by airlock's own builder (src/oci/build) as an OCI
// layout, and beside it `rootfs`: the same inputs as one squashed tree (deletions applied), for the
// ground-truth tools (`dpkg-query --admindir`, `go version -m`, `npm ls`, importlib.metadata).
//
// Built once per machine: the result is cached under the OS temporary folder in a folder named by a
// hash of the inputs (this file's text included), built under a temporary name and renamed into place,
// with a lock folder so two test files asking at once build it once.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ImageLayer, putImage } from '../../src/oci/build/image.ts';
import { arrangeEntries, dataEntry, type LayerEntry, treeEntries, writeLayer } from '../../src/oci/build/layer-tar.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUITE = 'bookworm';
const DEBIAN_PACKAGES = ['python3-six', 'python3-yaml', 'python3-packaging', 'skopeo'];
const NPM_DEPENDENCIES = { ms: '2.1.3', debug: '2.6.9', '@sindresorhus/is': '4.6.0' };
const GO_MODULES = [
  { path: 'example.com/greet', version: 'v1.4.0', dir: 'greet' },
  { path: 'example.com/shout', version: 'v0.2.1', dir: 'shout' },
];
const MTIME = new Date('2026-01-01T00:00:00Z');
const TAG = 'test';
const PY = 'usr/lib/python3/dist-packages';

export interface SbomTestImage {
  /** The OCI layout folder, and `oci:<layout>:test`. */
  readonly layoutPath: string;
  readonly reference: string;
  readonly manifestDigest: string;
  /** The squashed tree made from the same inputs, deletions applied. */
  readonly rootfs: string;
  /** The Go program built here, its main module and the replaced modules its build info records. */
  readonly goBinary: string;
  readonly goMainModule: string;
  readonly goModules: ReadonlyArray<{ readonly path: string; readonly version: string }>;
  /** The folder holding package.json and node_modules. */
  readonly npmApp: string;
  /** Paths (absolute, in the image) deleted by whiteouts, and files hidden by the opaque directory. */
  readonly whitedOut: readonly string[];
  readonly opaqueDir: string;
  /** Files the opaque directory's own layer adds (visible). */
  readonly opaqueNew: readonly string[];
  /** How long mmdebstrap and the whole build took when the image was built (cached runs: the first). */
  readonly timings: { readonly mmdebstrapSeconds: number; readonly buildSeconds: number };
}

const WHITED_OUT = [`/${PY}/PyYAML-6.0.dist-info`, `/${PY}/six.py`];
const OPAQUE_DIR = '/usr/share/doc/python3-yaml';
const OPAQUE_NEW = [`${OPAQUE_DIR}/NOTE`];

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** Why the image cannot be built here, or undefined when it can. */
export function sbomImageMissing(): string | undefined {
  if (!has('mmdebstrap')) return 'mmdebstrap not installed (apt-get install mmdebstrap)';
  if (process.getuid?.() !== 0) return 'not root: mmdebstrap --mode=root needs it';
  if (!existsSync('/usr/bin/go')) return '/usr/bin/go not installed (apt-get install golang-go)';
  return undefined;
}

function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.error) throw new Error(`${file}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function inputsHash(mirror: string): Promise<string> {
  const self = await readFile(fileURLToPath(import.meta.url), 'utf8');
  const go = run('/usr/bin/go', ['version']).trim();
  const inputs = { self, SUITE, DEBIAN_PACKAGES, NPM_DEPENDENCIES, GO_MODULES, mirror, go, node: process.version };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
}

/** Layer 0: the Debian root filesystem (also the start of `rootfs`). */
async function debianLayer(rootfs: string, mirror: string): Promise<{ entries: LayerEntry[]; seconds: number }> {
  const started = Date.now();
  const include = `--include=${DEBIAN_PACKAGES.join(',')}`;
  run('mmdebstrap', ['--quiet', '--variant=essential', '--mode=root', include, SUITE, rootfs, mirror]);
  const seconds = (Date.now() - started) / 1000;
  // The runtime provides /dev; apt's lists and caches are not part of what is installed.
  for (const p of ['dev', 'var/lib/apt/lists', 'var/cache/apt'])
    await rm(join(rootfs, p), { recursive: true, force: true });
  await mkdir(join(rootfs, 'dev'));
  return { entries: await treeEntries(rootfs, '/'), seconds };
}

/** Layer 1: a Go program whose two dependencies are local folders standing in for modules. */
async function goLayer(work: string, rootfs: string): Promise<LayerEntry[]> {
  const src = join(work, 'go');
  await mkdir(src, { recursive: true });
  const requires = GO_MODULES.map((m) => `\t${m.path} ${m.version}`).join('\n');
  const replaces = GO_MODULES.map((m) => `replace ${m.path} => ./${m.dir}`).join('\n');
  await writeFile(
    join(src, 'go.mod'),
    `module example.com/hello\n\ngo 1.19\n\nrequire (\n${requires}\n)\n\n${replaces}\n`,
  );
  for (const m of GO_MODULES) {
    await mkdir(join(src, m.dir), { recursive: true });
    await writeFile(join(src, m.dir, 'go.mod'), `module ${m.path}\n\ngo 1.19\n`);
    await writeFile(join(src, m.dir, `${m.dir}.go`), `package ${m.dir}\n\nfunc Word() string { return "${m.dir}" }\n`);
  }
  const imports = GO_MODULES.map((m) => `\t"${m.path}"`).join('\n');
  const calls = GO_MODULES.map((m) => `${m.dir}.Word()`).join(', ');
  await writeFile(
    join(src, 'main.go'),
    `package main\n\nimport (\n\t"fmt"\n${imports}\n)\n\nfunc main() { fmt.Println(${calls}) }\n`,
  );
  const out = join(rootfs, 'usr/local/bin/hello');
  await mkdir(join(rootfs, 'usr/local/bin'), { recursive: true });
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    GOPATH: join(work, 'gopath'),
    GOCACHE: join(work, 'gocache'),
    GOPROXY: 'off',
    GOFLAGS: '-mod=mod',
    CGO_ENABLED: '0',
  };
  run('/usr/bin/go', ['build', '-trimpath', '-o', out, '.'], { cwd: src, env });
  return [{ path: 'usr/local/bin/hello', kind: 'file', mode: 0o755, source: out, size: (await stat(out)).size }];
}

/** Layer 2: /srv/app with node_modules that `npm install` fetched from the npm registry. */
async function npmLayer(work: string, rootfs: string): Promise<LayerEntry[]> {
  const app = join(work, 'app');
  await mkdir(app, { recursive: true });
  const manifest = { name: 'sbom-test-app', version: '1.0.0', private: true, dependencies: NPM_DEPENDENCIES };
  await writeFile(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  run(join(ROOT, 'scripts/nodew'), ['npm', 'install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app });
  await cp(app, join(rootfs, 'srv/app'), { recursive: true });
  return treeEntries(app, 'srv/app');
}

/** Layer 3: whiteouts of a Python package's dist-info folder and of a file dpkg lists. */
async function whiteoutLayer(rootfs: string): Promise<LayerEntry[]> {
  for (const p of WHITED_OUT) await rm(join(rootfs, p), { recursive: true });
  return WHITED_OUT.map((p) => {
    const cut = p.lastIndexOf('/');
    return dataEntry(`${p.slice(1, cut)}/.wh.${p.slice(cut + 1)}`, '', 0o600);
  });
}

/** Layer 4: an opaque directory: what lower layers had in it is gone, the file it adds is there. */
async function opaqueLayer(rootfs: string): Promise<{ entries: LayerEntry[]; hidden: string[] }> {
  const dir = join(rootfs, OPAQUE_DIR);
  const hidden = run('find', [dir, '-type', 'f'])
    .trim()
    .split('\n')
    .map((f) => f.slice(rootfs.length));
  await rm(dir, { recursive: true });
  await mkdir(dir);
  const note = 'This folder was replaced by an opaque directory in a later layer.\n';
  await writeFile(join(rootfs, OPAQUE_NEW[0] ?? ''), note);
  return {
    entries: [
      { path: OPAQUE_DIR.slice(1), kind: 'dir', mode: 0o755 },
      dataEntry(`${OPAQUE_DIR.slice(1)}/.wh..wh..opq`, '', 0o600),
      dataEntry(OPAQUE_NEW[0]?.slice(1) ?? '', note),
    ],
    hidden,
  };
}

async function build(dir: string, mirror: string): Promise<SbomTestImage> {
  const started = Date.now();
  const work = join(dir, 'work');
  const rootfs = join(dir, 'rootfs');
  await mkdir(work, { recursive: true });
  const layers: ImageLayer[] = [];
  // Each layer is written as soon as it is known: the next step changes the files it points at.
  const add = async (createdBy: string, entries: LayerEntry[]) => {
    const file = join(work, `layer-${layers.length}.tar.gz`);
    layers.push({ ...(await writeLayer(arrangeEntries(entries), file, MTIME)), createdBy });
  };
  const debian = await debianLayer(rootfs, mirror);
  await add(`mmdebstrap --variant=essential ${SUITE}`, debian.entries);
  await add('go build (replaced local modules)', await goLayer(work, rootfs));
  await add('npm install', await npmLayer(work, rootfs));
  await add('whiteouts', await whiteoutLayer(rootfs));
  const opaque = await opaqueLayer(rootfs);
  await add('opaque directory', opaque.entries);
  const layoutPath = join(dir, 'layout');
  const store = await openLayoutStore(layoutPath, { create: true });
  const settings = {
    user: '0:0',
    entrypoint: ['/usr/local/bin/hello'],
    env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
    workingDir: '/',
    labels: {},
    created: MTIME,
    architecture: 'amd64',
    os: 'linux',
  };
  const manifest = await putImage(store, layers, settings, TAG);
  await rm(work, { recursive: true, force: true });
  return {
    layoutPath,
    reference: `oci:${layoutPath}:${TAG}`,
    manifestDigest: manifest.digest,
    rootfs,
    goBinary: '/usr/local/bin/hello',
    goMainModule: 'example.com/hello',
    goModules: GO_MODULES.map(({ path, version }) => ({ path, version })),
    npmApp: '/srv/app',
    whitedOut: [...WHITED_OUT, ...opaque.hidden],
    opaqueDir: OPAQUE_DIR,
    opaqueNew: OPAQUE_NEW,
    timings: { mmdebstrapSeconds: debian.seconds, buildSeconds: (Date.now() - started) / 1000 },
  };
}

/** Paths in the image are relative to the cache folder they were built in: fixed up after the rename. */
function relocate(image: SbomTestImage, from: string, to: string): SbomTestImage {
  const move = (p: string) => (p.startsWith(from) ? to + p.slice(from.length) : p);
  return {
    ...image,
    layoutPath: move(image.layoutPath),
    reference: `oci:${move(image.layoutPath)}:${TAG}`,
    rootfs: move(image.rootfs),
  };
}

async function takeLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
    return true;
  } catch {
    const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? 0);
    if (age > 30 * 60 * 1000) await rm(lock, { recursive: true, force: true });
    return false;
  }
}

let cached: Promise<SbomTestImage> | undefined;

/** The image (built now, or found in the cache a previous run left). */
export function sbomTestImage(): Promise<SbomTestImage> {
  cached ??= findOrBuild();
  return cached;
}

async function findOrBuild(): Promise<SbomTestImage> {
  const mirror = process.env.AIRLOCK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
  const dir = join(tmpdir(), `airlock-sbom-image-${await inputsHash(mirror)}`);
  const info = join(dir, 'image.json');
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(info)) return JSON.parse(await readFile(info, 'utf8')) as SbomTestImage;
    if (await takeLock(lock)) break;
    await sleep(2000);
  }
  try {
    if (existsSync(info)) return JSON.parse(await readFile(info, 'utf8')) as SbomTestImage;
    const building = `${dir}.building-${process.pid}`;
    await rm(building, { recursive: true, force: true });
    const image = relocate(
      await build(building, mirror).catch(async (err: unknown) => {
        await rm(building, { recursive: true, force: true });
        throw err;
      }),
      building,
      dir,
    );
    await writeFile(join(building, 'image.json'), `${JSON.stringify(image, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(building, dir);
    return image;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
