// The gate on what crosses (issue 22, items 1-5 and 22), as a user runs pack and inspect: a gate never
// passes with nothing to judge; SBOMs and scans must be about the image they travel with, and travel;
// the far side recomputes what the metadata claims; unknown severities fail a gate and say so; each
// image's signatures are checked at pack with the trust the far side uses; images land where named.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let digest: string;
let configDigest: string;
let registry: TestRegistry | undefined;
// Registered before the folder below (after hooks run in order): the registry stops first.
after(() => registry?.stop());
const dir = useTempDir('airlock-gate-');
const missingRegistry = registryAvailable();
const home = (n: string) => join(dir, `home-${n}`);
const cli = (args: string[], h = 'pack') =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home(h) } });
const src = () => `oci:${join(dir, 'build')}:myapp-1.0`;
const packTrust = () => ['--image-key', join(dir, 'img.pub'), '--insecure-ignore-tlog'];
const accept = () => [
  '--signer-key',
  join(dir, 'release.pub'),
  '--channel',
  'prod',
  '--key',
  join(dir, 'img.pub'),
  '--insecure-ignore-tlog',
];
const pack = (out: string, extra: string[], h = 'pack') =>
  cli(['pack', src(), '-o', out, '--key', join(dir, 'release.key'), '--channel', 'prod', ...extra, '--json'], h);

const sbomAbout = (d: string) =>
  JSON.stringify({
    spdxVersion: 'SPDX-2.3',
    packages: [
      { SPDXID: 'SPDXRef-DocumentRoot-Image-myapp', name: 'myapp', versionInfo: d },
      { SPDXID: 'SPDXRef-p', name: 'busybox' },
      { SPDXID: 'SPDXRef-q', name: 'musl' },
    ],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: 'SPDXRef-DocumentRoot-Image-myapp',
      },
    ],
  });
const scanAbout = (d: string | undefined, severity = 'Medium') =>
  JSON.stringify({
    matches: [{ vulnerability: { id: 'CVE-2026-1', severity }, artifact: { name: 'musl', version: '1.2' } }],
    ...(d
      ? {
          source: {
            type: 'image',
            target: {
              userInput: 'myapp:1.0',
              ...(d === digest ? { imageID: configDigest } : {}),
              manifestDigest: d,
              repoDigests: [],
            },
          },
        }
      : {}),
  });

before(async () => {
  const store = await openLayoutStore(join(dir, 'build'), { create: true });
  const image = await makeTestImage(store, { tag: 'myapp-1.0', layers: 1, layerSize: 4000 });
  digest = image.manifest.digest;
  configDigest = image.config.digest;
  await store.close();
  for (const k of ['release', 'img', 'other'])
    assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, k)])).code, 0);
  assert.equal((await cli(['sign', src(), '--key', join(dir, 'img.key'), '--tlog-upload=false'])).code, 0);
  await writeFile(join(dir, 'sbom.json'), sbomAbout(digest));
  await writeFile(join(dir, 'scan.json'), scanAbout(digest));
  if (!missingRegistry) registry = await startRegistry();
});

async function auditActions(h: string): Promise<string[]> {
  return (await verifyAuditLog(home(h)).catch(() => ({ events: [] }))).events.map(
    (e) => `${e.event.action} ${e.event.result}`,
  );
}

/**
 * Recomputes manifest.sha256 of a folder package and re-signs it with the release key: a packer with a valid key who
 * lies.
 */
async function resign(pkg: string): Promise<void> {
  const files: string[] = [];
  for (const entry of await readdir(pkg, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const rel = relative(pkg, join(entry.parentPath, entry.name));
    if (!rel.startsWith('manifest.sha256')) files.push(rel);
  }
  files.sort();
  const lines = await Promise.all(
    files.map(
      async (f) =>
        `${createHash('sha256')
          .update(await readFile(join(pkg, f)))
          .digest('hex')}  ${f}\n`,
    ),
  );
  await writeFile(join(pkg, 'manifest.sha256'), lines.join(''));
  await rm(join(pkg, 'manifest.sha256.sigstore.json'));
  const r = await cli(
    [
      'sign-blob',
      join(pkg, 'manifest.sha256'),
      '--key',
      join(dir, 'release.key'),
      '--bundle',
      join(pkg, 'manifest.sha256.sigstore.json'),
      '--tlog-upload=false',
    ],
    'resign',
  );
  assert.equal(r.code, 0, r.stderr);
}

describe('the gate never passes with nothing to judge', () => {
  it(
    '--fail-on without a scan for every image: exit 2 before anything is read, saying what to add; ' +
      'nothing written or recorded',
    async () => {
      const out = join(dir, 'no-scan.tar');
      const r = await pack(out, ['--fail-on', 'critical', ...packTrust()], 'no-scan');
      assert.equal(r.code, 2, r.stderr);
      const error = JSON.parse(r.stdout).error;
      assert.equal(error.code, 'E_USAGE');
      assert.match(error.message, /no scan to judge/);
      assert.match(error.hint, /--scan oci:.*=grype\.json/);
      await assert.rejects(readFile(out));
      assert.deepEqual(
        (await auditActions('no-scan')).filter((a) => a.startsWith('transfer.pack')),
        [],
        'usage errors decide nothing',
      );
    },
  );

  it('a finding of unknown severity fails the gate and says so, never "at or above"', async () => {
    await writeFile(join(dir, 'unknown.json'), scanAbout(digest, 'Unknown'));
    const r = await pack(join(dir, 'unknown.tar'), [
      '--scan',
      `${src()}=${join(dir, 'unknown.json')}`,
      '--fail-on',
      'critical',
      ...packTrust(),
    ]);
    assert.equal(r.code, 1, r.stderr);
    const error = JSON.parse(r.stdout).error;
    assert.equal(error.code, 'E_GATE');
    assert.match(error.message, /CVE-2026-1 \(severity unknown: cannot evaluate, counted as failing\)/);
    assert.doesNotMatch(error.message, /at or above/);
  });
});

describe('SBOMs and scans are about the image they travel with, and travel', () => {
  it('a scan or SBOM of another image is refused, both names shown', async () => {
    const other = `sha256:${'e'.repeat(64)}`;
    await writeFile(join(dir, 'other-scan.json'), scanAbout(other));
    await writeFile(join(dir, 'other-sbom.json'), sbomAbout(other));
    for (const flag of ['scan', 'sbom']) {
      const r = await pack(join(dir, `other-${flag}.tar`), [
        `--${flag}`,
        `${src()}=${join(dir, `other-${flag}.json`)}`,
        ...packTrust(),
      ]);
      assert.equal(r.code, 1, r.stderr);
      const error = JSON.parse(r.stdout).error;
      assert.equal(error.code, 'E_ARTIFACT_MISMATCH', flag);
      assert.ok(error.message.includes(other) && error.message.includes(digest), error.message);
    }
  });

  it(
    'without --key (OpenPGP only) the documents still travel, listed in the manifest; inspect ' +
      'recomputes from them',
    async (t) => {
      const { gpgMissing, createGpgHome } = await import('../helpers/gpg.ts');
      const missing = gpgMissing();
      if (missing) return t.skip(missing);
      const gpg = await createGpgHome();
      try {
        const fingerprint = await gpg.generateKey('Release <r@example.com>', 'ed25519');
        await writeFile(join(dir, 'pgp-secret.asc'), await gpg.exportSecret(fingerprint));
        await writeFile(join(dir, 'pgp-public.asc'), await gpg.exportPublic(fingerprint));
      } finally {
        await gpg.cleanup();
      }
      const pkg = join(dir, 'pgp-docs');
      const r = await cli(
        [
          'pack',
          src(),
          '-o',
          pkg,
          '--format',
          'dir',
          '--pgp-key',
          join(dir, 'pgp-secret.asc'),
          '--channel',
          'prod',
          ...packTrust(),
          '--sbom',
          `${src()}=${join(dir, 'sbom.json')}`,
          '--scan',
          `${src()}=${join(dir, 'scan.json')}`,
          '--fail-on',
          'critical',
        ],
        'pgp-docs',
      );
      assert.equal(r.code, 0, r.stderr);
      const manifest = await readFile(join(pkg, 'manifest.sha256'), 'utf8');
      assert.match(manifest, / {2}attachments\/1-build-myapp-1\.0\/sbom\.json\n/);
      assert.match(manifest, / {2}attachments\/1-build-myapp-1\.0\/vulnerability-scan\.json\n/);
      const meta = JSON.parse(await readFile(join(pkg, 'airlock-transfer.json'), 'utf8'));
      assert.deepEqual(meta.artifacts[0].sbom, {
        format: 'spdx',
        packages: 3,
        attestation: false,
        document: 'attachments/1-build-myapp-1.0/sbom.json',
        subject: { matched: digest },
      });
      const i = await cli(
        [
          'inspect',
          pkg,
          '--keyring',
          join(dir, 'pgp-public.asc'),
          '--channel',
          'prod',
          '--key',
          join(dir, 'img.pub'),
          '--insecure-ignore-tlog',
          '--json',
        ],
        'pgp-docs-air',
      );
      assert.equal(i.code, 0, i.stderr);
      const docs = JSON.parse(i.stdout).documents[0];
      const out = join(dir, 'pgp-docs-out');
      const extracted = await cli(
        [
          'inspect',
          pkg,
          '--keyring',
          join(dir, 'pgp-public.asc'),
          '--channel',
          'prod',
          '--key',
          join(dir, 'img.pub'),
          '--insecure-ignore-tlog',
          '--documents-out',
          out,
        ],
        'pgp-docs-air',
      );
      assert.equal(extracted.code, 0, extracted.stderr);
      assert.deepEqual(
        JSON.parse(await readFile(join(out, '1-build-myapp-1.0.sbom.json'), 'utf8')),
        JSON.parse(sbomAbout(digest)),
        'the SBOM read back out of the package',
      );
      assert.equal(docs.sbom.from, 'document');
      assert.equal(docs.scan.from, 'document');
      assert.deepEqual(docs.scan.counts, { medium: 1 });
    },
  );

  it('a document that names no image is packed, and the report says it names none', async () => {
    await writeFile(
      join(dir, 'bare-sbom.json'),
      JSON.stringify({ spdxVersion: 'SPDX-2.3', packages: [{ name: 'a' }] }),
    );
    const r = await cli([
      'pack',
      src(),
      '-o',
      join(dir, 'bare.tar'),
      '--key',
      join(dir, 'release.key'),
      '--channel',
      'prod',
      ...packTrust(),
      '--sbom',
      `${src()}=${join(dir, 'bare-sbom.json')}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /the SBOM of .* names no image: it could not be checked to be about this one/);
  });

  it('the far side recomputes: a metadata claim the travelling documents do not bear out is refused', async () => {
    const base = join(dir, 'claims');
    const r = await pack(
      base,
      [
        '--format',
        'dir',
        ...packTrust(),
        '--sbom',
        `${src()}=${join(dir, 'sbom.json')}`,
        '--scan',
        `${src()}=${join(dir, 'scan.json')}`,
        '--fail-on',
        'high',
      ],
      'claims',
    );
    assert.equal(r.code, 0, r.stderr);
    const lie = async (name: string, mutate: (pkg: string) => Promise<void>) => {
      const pkg = join(dir, `claims-${name}`);
      execFileSync('cp', ['-r', base, pkg]);
      await mutate(pkg);
      await resign(pkg);
      const i = await cli(['inspect', pkg, ...accept(), '--json'], `claims-${name}`);
      assert.equal(i.code, 1, `${name}: ${i.stderr}`);
      return JSON.parse(i.stdout).error;
    };
    const scanPath = (pkg: string) => join(pkg, 'attachments', '1-build-myapp-1.0', 'vulnerability-scan.json');
    // A critical finding in the scan that travelled, under metadata that says the "high" gate passed.
    const gate = await lie('gate', async (pkg) => {
      const doc = JSON.parse(await readFile(scanPath(pkg), 'utf8'));
      doc.matches[0].vulnerability.severity = 'Critical';
      await writeFile(scanPath(pkg), JSON.stringify(doc));
      const meta = JSON.parse(await readFile(join(pkg, 'airlock-transfer.json'), 'utf8'));
      meta.artifacts[0].vulnerabilityScan.counts = { critical: 1 };
      await writeFile(join(pkg, 'airlock-transfer.json'), JSON.stringify(meta));
    });
    assert.equal(gate.code, 'E_PACKAGE_TAMPERED');
    assert.match(gate.message, /the metadata says the gate passed/);
    const counts = await lie('counts', async (pkg) => {
      const meta = JSON.parse(await readFile(join(pkg, 'airlock-transfer.json'), 'utf8'));
      meta.artifacts[0].sbom.packages = 500;
      await writeFile(join(pkg, 'airlock-transfer.json'), JSON.stringify(meta));
    });
    assert.equal(counts.code, 'E_PACKAGE_TAMPERED');
    assert.match(counts.message, /500 packages; the document is spdx with 3/);
    const subject = await lie('subject', async (pkg) =>
      writeFile(scanPath(pkg), scanAbout(`sha256:${'f'.repeat(64)}`)),
    );
    assert.equal(subject.code, 'E_ARTIFACT_MISMATCH');
  });
});

describe('coverage is checked at pack, where it can still be fixed', () => {
  it(
    'no trust named: exit 2 saying which flags; a wrong key or no signature: refused; ' +
      '--allow-unsigned: packed and marked',
    async () => {
      const none = await cli(
        ['pack', src(), '-o', join(dir, 'c0.tar'), '--key', join(dir, 'release.key'), '--json'],
        'cov',
      );
      assert.equal(none.code, 2);
      assert.match(JSON.parse(none.stdout).error.hint, /--image-key/);
      const wrong = await cli(
        [
          'pack',
          src(),
          '-o',
          join(dir, 'c1.tar'),
          '--key',
          join(dir, 'release.key'),
          '--image-key',
          join(dir, 'other.pub'),
          '--insecure-ignore-tlog',
          '--json',
        ],
        'cov',
      );
      assert.equal(wrong.code, 1);
      assert.equal(JSON.parse(wrong.stdout).error.code, 'E_SIGNATURE_INVALID');
      assert.match(JSON.parse(wrong.stdout).error.message, /caught at pack time/);
      // The import's default needs a log entry, checked against the gap's trust root: pack needs that root too.
      const noRoot = await cli(
        [
          'pack',
          src(),
          '-o',
          join(dir, 'c2.tar'),
          '--key',
          join(dir, 'release.key'),
          '--image-key',
          join(dir, 'img.pub'),
          '--json',
        ],
        'cov',
      );
      assert.equal(noRoot.code, 3, noRoot.stderr);
      assert.equal(JSON.parse(noRoot.stdout).error.code, 'E_TRUST_ROOT_MISSING');
      const bare = join(dir, 'bare-layout');
      const store = await openLayoutStore(bare, { create: true });
      await makeTestImage(store, { tag: 'v1', layers: 1, layerSize: 100 });
      await store.close();
      const unsigned = await cli(
        [
          'pack',
          `oci:${bare}:v1`,
          '-o',
          join(dir, 'c3.tar'),
          '--key',
          join(dir, 'release.key'),
          ...packTrust(),
          '--json',
        ],
        'cov',
      );
      assert.equal(unsigned.code, 1);
      assert.match(JSON.parse(unsigned.stdout).error.message, /has no signature/);
      const allowed = await cli(
        [
          'pack',
          `oci:${bare}:v1`,
          '-o',
          join(dir, 'c4.tar'),
          '--key',
          join(dir, 'release.key'),
          '--allow-unsigned',
          '--json',
        ],
        'cov',
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.deepEqual(JSON.parse(allowed.stdout).metadata.artifacts[0].coverage, { allowedUnsigned: true });
      assert.deepEqual(
        (await auditActions('cov')).filter((a) => a.startsWith('transfer.pack')),
        ['transfer.pack refused', 'transfer.pack failed', 'transfer.pack refused', 'transfer.pack ok'],
        'each refusal recorded, the usage error not',
      );
      const signedNow = await cli(
        ['pack', `oci:${bare}:v1`, '-o', join(dir, 'c5.tar'), '--key', join(dir, 'release.key'), '--sign', '--json'],
        'cov',
      );
      assert.equal(signedNow.code, 0, signedNow.stderr);
      assert.match(JSON.parse(signedNow.stdout).metadata.artifacts[0].coverage.verified, /^key sha256:/);
    },
  );

  it('--policy at pack: the attestations the far side requires must be there now', async () => {
    await writeFile(
      join(dir, 'needs-sbom.json'),
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'ImagePolicy',
        images: [{ glob: 'oci:**', authorities: [{ key: 'img.pub' }], attestations: ['spdxjson'] }],
      }),
    );
    const r = await cli(
      [
        'pack',
        src(),
        '-o',
        join(dir, 'pol.tar'),
        '--key',
        join(dir, 'release.key'),
        '--policy',
        join(dir, 'needs-sbom.json'),
        '--insecure-ignore-tlog',
        '--json',
      ],
      'pol',
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.code, 'E_POLICY_DENIED');
  });
});

describe('where images land is chosen, not guessed', () => {
  it('pack --name IMAGE=REPO:TAG: import pushes it there, under --registry HOST/PREFIX', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const pkg = join(dir, 'named.tar');
    const r = await pack(pkg, [...packTrust(), '--name', `${src()}=team/myapp:1.0`], 'named');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).metadata.artifacts[0].destination, 'team/myapp:1.0');
    const i = await cli(
      ['import', pkg, '--registry', `${registry.host}/mirror`, ...accept(), '--insecure', '--json'],
      'named-air',
    );
    assert.equal(i.code, 0, i.stderr);
    assert.equal(JSON.parse(i.stdout).images[0].pushedTo, `${registry.host}/mirror/team/myapp:1.0`);
    const tags = (await (await fetch(`${registry.url}/v2/mirror/team/myapp/tags/list`)).json()) as { tags: string[] };
    assert.ok(tags.tags.includes('1.0'), String(tags.tags));
    const bad = await pack(join(dir, 'bad-name.tar'), [...packTrust(), '--name', `${src()}=Team/../x`], 'named');
    assert.equal(bad.code, 2);
  });
});

describe("podman's image store (containers-storage:)", () => {
  it('is read through skopeo where it is installed; without it, pack says how to export', async (t) => {
    const { skopeoMissing } = await import('../helpers/oci-images.ts');
    const missing = skopeoMissing();
    if (missing) return t.skip(missing);
    const store = `[vfs@${join(dir, 'cs-root')}+${join(dir, 'cs-run')}]`;
    execFileSync('skopeo', ['copy', '--quiet', src(), `containers-storage:${store}localhost/myapp:1.0`]);
    const ref = `containers-storage:${store}localhost/myapp:1.0`;
    const r = await cli(
      ['pack', ref, '-o', join(dir, 'podman.tar'), '--key', join(dir, 'release.key'), '--sign', '--json'],
      'podman',
    );
    assert.equal(r.code, 0, r.stderr);
    const artifact = JSON.parse(r.stdout).metadata.artifacts[0];
    assert.equal(artifact.name, 'containers-storage:localhost/myapp:1.0');
    assert.equal(artifact.destination, 'myapp:1.0');
    assert.match(
      artifact.digest,
      /^sha256:[0-9a-f]{64}$/,
      'as the store holds it (podman may store another manifest than the one pulled)',
    );
    const noSkopeo = await runCliProcess(
      ['pack', ref, '-o', join(dir, 'podman-2.tar'), '--key', join(dir, 'release.key'), '--sign', '--json'],
      { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home('podman'), PATH: join(dir, 'no-such-dir') } },
    );
    assert.equal(noSkopeo.code, 2, noSkopeo.stderr);
    assert.equal(JSON.parse(noSkopeo.stdout).error.code, 'E_UNSUPPORTED');
    assert.match(
      JSON.parse(noSkopeo.stdout).error.hint,
      /podman save --format oci-archive -o image\.tar localhost\/myapp:1\.0/,
    );
  });
});

describe('outside strings in messages', () => {
  it('a terminal escape or a forged line in a file name reaches no message raw', async () => {
    const evil = join(dir, 'evil\u001b[2K\nerror: forged.json');
    await writeFile(evil, '{');
    const r = await cli([
      'pack',
      src(),
      '-o',
      join(dir, 'evil.tar'),
      '--key',
      join(dir, 'release.key'),
      ...packTrust(),
      '--sbom',
      `${src()}=${evil}`,
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(!r.stderr.includes('\u001b'), 'no raw escape');
    assert.doesNotMatch(r.stderr, /^error: forged/m);
    assert.match(r.stderr, /evil\\u001b\[2K\\nerror: forged\.json/);
  });
});
