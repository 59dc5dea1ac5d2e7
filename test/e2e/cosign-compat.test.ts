// What a cosign user types: the same names and flags where the meaning is the same, a pointer to the
// airlock command where it is not; bundles kept beside an image; and the SBOM read back out of a
// verified attestation on the far side (a layout, a transfer package folder, a registry).
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let digest: string;
let otherDigest: string;
let registry: TestRegistry | undefined;
// Registered before the folder below (after hooks run in order): the registry stops first.
after(() => registry?.stop());
const dir = useTempDir('airlock-cosign-compat-');
const missingRegistry = registryAvailable();
const env = () => ({ AIRLOCK_HOME: join(dir, 'home'), AIRLOCK_PASSWORD: 'pw' });
const cli = (args: string[]) => runCli(args, { env: env() });
const layout = () => join(dir, 'layout');
const image = () => `oci:${layout()}:v1`;
const trust = (name = 'a') => ['--key', join(dir, `${name}.pub`), '--insecure-ignore-tlog'];
const SBOM_A = { spdxVersion: 'SPDX-2.3', name: 'app-sbom-a', packages: [{ name: 'openssl', versionInfo: '3.0.15' }] };
const SBOM_B = { spdxVersion: 'SPDX-2.3', name: 'app-sbom-b', packages: [] };

async function ok(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await cli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

before(async () => {
  const store = await openLayoutStore(layout(), { create: true });
  digest = (await makeTestImage(store, { tag: 'v1', layers: 1 })).manifest.digest;
  otherDigest = (await makeTestImage(store, { tag: 'other', layers: 1 })).manifest.digest;
  await makeTestImage(store, { tag: 'packed', layers: 1 });
  await store.close();
  for (const name of ['a', 'b', 'c']) await ok(['generate-key-pair', '--output-key-prefix', join(dir, name)]);
  await writeFile(join(dir, 'sbom-a.json'), JSON.stringify(SBOM_A, null, 2));
  await writeFile(join(dir, 'sbom-b.json'), JSON.stringify(SBOM_B));
  if (!missingRegistry) registry = await startRegistry();
});

describe("cosign's names and flags", () => {
  it('generate-key-pair and public-key are key generate and key public', async () => {
    assert.ok(existsSync(join(dir, 'a.key')) && existsSync(join(dir, 'a.pub')));
    const r = await ok(['public-key', '--key', join(dir, 'a.key')]);
    assert.equal(r.stdout, await readFile(join(dir, 'a.pub'), 'utf8'));
    await ok(['public-key', '--key', join(dir, 'a.key'), '--outfile', join(dir, 'a-again.pub')]);
    assert.equal(await readFile(join(dir, 'a-again.pub'), 'utf8'), r.stdout);
    const exists = await cli(['public-key', '--key', join(dir, 'a.key'), '--outfile', join(dir, 'a-again.pub')]);
    assert.equal(exists.code, 2);
    assert.match(exists.stderr, /E_OUTPUT_EXISTS/);
  });

  it('tree is image inspect', async () => {
    const tree = await ok(['tree', image(), '--json']);
    const inspect = await ok(['image', 'inspect', image(), '--json']);
    assert.deepEqual(JSON.parse(tree.stdout), JSON.parse(inspect.stdout));
  });

  it(
    'attach sbom, download sbom and other cosign-only commands say what to type instead ' + '(E_UNSUPPORTED, exit 2)',
    async () => {
      const cases: Array<[string[], RegExp]> = [
        [['attach', 'sbom', '--sbom', 'sbom.json', image()], /airlock attest IMAGE --type spdxjson --predicate/],
        [['download', 'sbom', image()], /airlock verify-attestation IMAGE --type spdxjson .*--output-file/],
        [['attach', 'signature', '--signature', 'x', image()], /airlock sign IMAGE/],
        [['login', 'registry.internal', '-u', 'me'], /--password-stdin/],
      ];
      for (const [args, instead] of cases) {
        const r = await cli([...args, '--json']);
        assert.equal(r.code, 2, args.join(' '));
        assert.equal(JSON.parse(r.stdout).error.code, 'E_UNSUPPORTED');
        assert.match(JSON.parse(r.stdout).error.hint, instead);
      }
    },
  );

  it('--offline is accepted by verify-blob too, and changes nothing', async () => {
    await writeFile(join(dir, 'file.txt'), 'hello\n');
    await ok([
      'sign-blob',
      join(dir, 'file.txt'),
      '--key',
      join(dir, 'a.key'),
      '--tlog-upload=false',
      '--bundle',
      join(dir, 'file.sigstore.json'),
    ]);
    await ok([
      'verify-blob',
      join(dir, 'file.txt'),
      '--bundle',
      join(dir, 'file.sigstore.json'),
      ...trust(),
      '--offline',
    ]);
    const wrong = await cli([
      'verify-blob',
      join(dir, 'file.txt'),
      '--bundle',
      join(dir, 'file.sigstore.json'),
      ...trust('b'),
      '--offline',
    ]);
    assert.equal(wrong.code, 1);
  });

  it('a mistyped flag is answered with the closest one', async () => {
    const r = await cli(['verify', image(), '--keyy', join(dir, 'a.pub')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown flag '--keyy'.*\nhint: did you mean --key\?/);
  });

  it('--allow-insecure-registry and --allow-http-registry are --insecure, loopback only', async () => {
    for (const flag of ['--allow-insecure-registry', '--allow-http-registry']) {
      const r = await cli(['copy', image(), 'registry.example.com/app:1', flag]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`warning: ${flag}: registry traffic is plain HTTP[^]*refusing plain HTTP to registry.example.com`),
      );
    }
  });

  it('save --dir and load --dir carry the image and its signatures through a layout folder', async () => {
    await ok(['sign', image(), '--key', join(dir, 'a.key'), '--tlog-upload=false']);
    const saved = join(dir, 'saved');
    await ok(['save', image(), '--dir', saved]);
    await ok(['verify', `oci:${saved}:v1`, ...trust(), '--offline']);
    const loaded = join(dir, 'loaded');
    await ok(['load', '--dir', saved, `oci:${loaded}:app`]);
    const v = JSON.parse((await ok(['verify', `oci:${loaded}:app`, ...trust(), '--json'])).stdout);
    assert.equal(v.digest, digest);
    const none = await cli(['save', image()]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs --dir DIR/);
  });

  it('save and load against a registry, with --allow-insecure-registry', { skip: missingRegistry }, async () => {
    const remote = `${registry?.host}/team/app:1`;
    await ok(['load', '--dir', join(dir, 'saved'), remote, '--allow-insecure-registry']);
    await ok(['verify', remote, ...trust(), '--allow-http-registry', '--offline']);
    await ok(['save', remote, '--dir', join(dir, 'saved-again'), '--allow-insecure-registry']);
    await ok(['verify', `oci:${join(dir, 'saved-again')}:1`, ...trust()]);
  });
});

describe('a bundle kept beside the image (sign --bundle, verify --bundle)', () => {
  it(
    'sign --bundle writes the bundle that is also attached; verify --offline --bundle checks it ' +
      'against IMAGE@digest or a tag',
    async () => {
      const bundle = join(dir, 'app.sigstore.json');
      await ok(['sign', image(), '--key', join(dir, 'a.key'), '--tlog-upload=false', '--bundle', bundle]);
      assert.equal(
        JSON.parse(await readFile(bundle, 'utf8')).mediaType,
        'application/vnd.dev.sigstore.bundle.v0.3+json',
      );
      const byDigest = JSON.parse(
        (await ok(['verify', '--offline', '--bundle', bundle, ...trust(), `oci:${layout()}@${digest}`, '--json']))
          .stdout,
      );
      assert.deepEqual(
        byDigest.results.map((r: { source: string; ok: boolean }) => [r.source, r.ok]),
        [['bundle-file', true]],
      );
      await ok(['verify', '--bundle', bundle, ...trust(), image()]);
    },
  );

  it('a bundle about another image, by another key, or of another kind is refused (exit 1)', async () => {
    const bundle = join(dir, 'app.sigstore.json');
    const cases: Array<[string[], string]> = [
      [['verify', '--bundle', bundle, ...trust(), `oci:${layout()}@${otherDigest}`], 'E_ARTIFACT_MISMATCH'],
      [['verify', '--bundle', bundle, ...trust('b'), image()], 'E_SIGNATURE_INVALID'],
      [['verify-attestation', '--bundle', bundle, '--type', 'spdxjson', ...trust(), image()], 'E_PREDICATE_TYPE'],
    ];
    for (const [args, code] of cases) {
      const r = await cli([...args, '--json']);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).results[0].code, code, args.join(' '));
    }
  });

  it('sign --bundle onto an existing file is refused before signing (nothing attached)', async () => {
    const before = JSON.parse((await ok(['image', 'inspect', image(), '--json'])).stdout).referrers.length;
    const r = await cli([
      'sign',
      image(),
      '--key',
      join(dir, 'a.key'),
      '--tlog-upload=false',
      '--bundle',
      join(dir, 'app.sigstore.json'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already exists \[E_OUTPUT_EXISTS\]/);
    assert.equal(JSON.parse((await ok(['image', 'inspect', image(), '--json'])).stdout).referrers.length, before);
  });

  it('attest --bundle and verify-attestation --bundle', async () => {
    const bundle = join(dir, 'sbom.sigstore.json');
    await ok([
      'attest',
      `oci:${layout()}:other`,
      '--predicate',
      join(dir, 'sbom-b.json'),
      '--type',
      'spdxjson',
      '--key',
      join(dir, 'a.key'),
      '--tlog-upload=false',
      '--bundle',
      bundle,
    ]);
    const out = join(dir, 'from-bundle.json');
    await ok([
      'verify-attestation',
      `oci:${layout()}@${otherDigest}`,
      '--bundle',
      bundle,
      '--type',
      'spdxjson',
      ...trust(),
      '--offline',
      '--output-file',
      out,
    ]);
    assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), SBOM_B);
  });
});

describe('verify-attestation --output-file: the SBOM back out, only once verified', () => {
  before(async () => {
    await ok([
      'attest',
      image(),
      '--predicate',
      join(dir, 'sbom-a.json'),
      '--type',
      'spdxjson',
      '--key',
      join(dir, 'a.key'),
      '--tlog-upload=false',
    ]);
    await ok([
      'attest',
      image(),
      '--predicate',
      join(dir, 'sbom-b.json'),
      '--type',
      'spdxjson',
      '--key',
      join(dir, 'b.key'),
      '--tlog-upload=false',
    ]);
  });

  it("writes the predicate the trusted key attested, as the JSON document; not the other key's", async () => {
    const out = join(dir, 'sbom-out-a.json');
    await ok(['verify-attestation', image(), '--type', 'spdxjson', ...trust('a'), '--output-file', out]);
    assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), SBOM_A);
    const outB = join(dir, 'sbom-out-b.json');
    await ok(['verify-attestation', image(), '--type', 'spdxjson', ...trust('b'), '--output-file', outB]);
    assert.deepEqual(JSON.parse(await readFile(outB, 'utf8')), SBOM_B);
  });

  it('- writes stdout', async () => {
    const r = await ok(['verify-attestation', image(), '--type', 'spdxjson', ...trust('a'), '--output-file', '-']);
    assert.deepEqual(JSON.parse(r.stdout), SBOM_A);
  });

  it('writes nothing, and exits 1, when nothing verified', async () => {
    const out = join(dir, 'sbom-out-c.json');
    const r = await cli(['verify-attestation', image(), '--type', 'spdxjson', ...trust('c'), '--output-file', out]);
    assert.equal(r.code, 1);
    assert.equal(existsSync(out), false);
    const none = await cli(['verify-attestation', image(), '--type', 'cyclonedx', ...trust('a'), '--output-file', '-']);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '');
  });

  it('writes no file when the audit trail cannot record the verification', async () => {
    const home = join(dir, 'broken-home');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'audit'), 'a file where the audit folder goes');
    const out = join(dir, 'sbom-out-unrecorded.json');
    const r = await runCli(['verify-attestation', image(), '--type', 'spdxjson', ...trust('a'), '--output-file', out], {
      env: { ...env(), AIRLOCK_HOME: home },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(existsSync(out), false, 'predicates were written that no audit event records');
  });

  it('several verified predicates are JSON lines', async () => {
    await ok([
      'attest',
      image(),
      '--predicate',
      join(dir, 'sbom-b.json'),
      '--type',
      'spdxjson',
      '--key',
      join(dir, 'a.key'),
      '--tlog-upload=false',
    ]);
    const r = await ok(['verify-attestation', image(), '--type', 'spdxjson', ...trust('a'), '--output-file', '-']);
    const docs = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string });
    assert.deepEqual(docs.map((d) => d.name).sort(), ['app-sbom-a', 'app-sbom-b']);
  });

  it('an existing --output-file is refused without --force, before anything is verified', async () => {
    const out = join(dir, 'sbom-out-a.json');
    const r = await cli(['verify-attestation', image(), '--type', 'spdxjson', ...trust('a'), '--output-file', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /E_OUTPUT_EXISTS/);
    await ok(['verify-attestation', image(), '--type', 'spdxjson', ...trust('a'), '--output-file', out, '--force']);
  });

  it('from a transfer package folder: oci:PKG/oci:LAYOUT_TAG', async () => {
    const pkg = join(dir, 'pkg');
    const plain = `oci:${layout()}:packed`;
    await ok([
      'pack',
      plain,
      '--format',
      'dir',
      '-o',
      pkg,
      '--key',
      join(dir, 'a.key'),
      '--sign',
      '--sbom',
      `${plain}=${join(dir, 'sbom-a.json')}`,
    ]);
    const meta = JSON.parse(await readFile(join(pkg, 'airlock-transfer.json'), 'utf8')) as {
      artifacts: Array<{ layoutTag: string }>;
    };
    const tag = meta.artifacts[0]?.layoutTag;
    const r = await ok([
      'verify-attestation',
      `oci:${join(pkg, 'oci')}:${tag}`,
      '--type',
      'spdxjson',
      ...trust('a'),
      '--output-file',
      '-',
    ]);
    assert.deepEqual(JSON.parse(r.stdout), SBOM_A);
  });

  it('from a registry', { skip: missingRegistry }, async () => {
    const remote = `${registry?.host}/team/sbom:1`;
    await ok(['copy', image(), remote, '--insecure']);
    const r = await ok([
      'verify-attestation',
      remote,
      '--type',
      'spdxjson',
      ...trust('b'),
      '--insecure',
      '--output-file',
      '-',
    ]);
    assert.deepEqual(JSON.parse(r.stdout), SBOM_B);
  });
});
