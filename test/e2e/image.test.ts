// Images end to end against real components: Debian's docker-registry (plain HTTP, and TLS + basic
// auth), skopeo for interop, layouts and archives on disk. Images are made here.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { makeTestImage, makeTestIndex, skopeo, skopeoMissing } from '../helpers/oci-images.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { verifyWithSigstoreJs } from '../helpers/sigstore.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let registry: TestRegistry | undefined;
// Registered before the folder below (after hooks run in order): the registry stops first.
after(() => registry?.stop());
const dir = useTempDir('airlock-image-');
let imageDigest: string;
let indexDigest: string;
const missingRegistry = registryAvailable();
const env = () => ({ AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') });
const cli = (args: string[], extra: { input?: string } = {}) => runCliProcess(args, { env: env(), ...extra });
const key = () => join(dir, 'cosign.key');
const pub = () => join(dir, 'cosign.pub');
const layout = () => join(dir, 'layout');
const TRUST = () => ['--key', pub(), '--insecure-ignore-tlog'];

before(async () => {
  const store = await openLayoutStore(layout(), { create: true });
  imageDigest = (await makeTestImage(store, { tag: 'v1', layers: 3, layerSize: 200_000 })).manifest.digest;
  const index = await makeTestIndex(
    store,
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ],
    'multi',
  );
  indexDigest = index.index.digest;
  await store.close();
  assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, 'cosign')])).code, 0);
  if (!missingRegistry) registry = await startRegistry();
});

describe('sign / attest / verify inside a layout', () => {
  it('signs as cosign v3 (bundle referrer) plus the legacy .sig, and both verify', async () => {
    const s = await cli([
      'sign',
      `oci:${layout()}:v1`,
      '--key',
      key(),
      '--tlog-upload=false',
      '--legacy-signature',
      '--sign-container-identity',
      'registry.example/app',
    ]);
    assert.equal(s.code, 0, s.stderr);
    const v = await cli(['verify', `oci:${layout()}:v1`, ...TRUST(), '--json']);
    assert.equal(v.code, 0, v.stderr);
    const doc = JSON.parse(v.stdout);
    assert.deepEqual(
      doc.results.map((r: { source: string; ok: boolean }) => [r.source, r.ok]),
      [
        ['referrer', true],
        ['legacy-sig', true],
      ],
    );
  });

  it(
    "the legacy .sig has cosign's exact payload bytes and annotations, and openssl-level " + 'verification passes',
    async () => {
      const store = await openLayoutStore(layout(), {});
      const tag = `${imageDigest.replace(':', '-')}.sig`;
      const sigManifest = JSON.parse((await store.getManifest((await store.resolveTag(tag)).digest)).bytes.toString());
      assert.equal(sigManifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      const layer = sigManifest.layers[0];
      assert.equal(layer.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
      const chunks: Buffer[] = [];
      for await (const c of await store.getBlob(layer)) chunks.push(c as Buffer);
      const payload = Buffer.concat(chunks);
      assert.equal(
        payload.toString(),
        `{"critical":{"identity":{"docker-reference":"registry.example/app"},` +
          `"image":{"docker-manifest-digest":"${imageDigest}"},` +
          `"type":"cosign container image signature"},"optional":null}`,
      );
      assert.deepEqual(Object.keys(layer.annotations), ['dev.cosignproject.cosign/signature']);
      const key = createPublicKey(await readFile(pub()));
      assert.ok(
        verify('sha256', payload, key, Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'], 'base64')),
      );
      // The bundle-format signature verifies with @sigstore/verify directly.
      const [ref] = await store.listReferrers(imageDigest);
      const refManifest = JSON.parse((await store.getManifest(ref!.digest)).bytes.toString());
      assert.equal(refManifest.artifactType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
      assert.equal(refManifest.subject.digest, imageDigest);
      const bundleChunks: Buffer[] = [];
      for await (const c of await store.getBlob(refManifest.layers[0])) bundleChunks.push(c as Buffer);
      const bundle = JSON.parse(Buffer.concat(bundleChunks).toString());
      verifyWithSigstoreJs(bundle, undefined, key);
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
      assert.deepEqual(statement.subject, [{ digest: { sha256: imageDigest.slice(7) } }]);
      assert.equal(statement.predicateType, 'https://sigstore.dev/cosign/sign/v1');
      await store.close();
    },
  );

  it('attest + verify-attestation --type; another type is not found', async () => {
    await writeFile(join(dir, 'sbom.json'), '{"spdxVersion":"SPDX-2.3","packages":[]}');
    const a = await cli([
      'attest',
      `oci:${layout()}:v1`,
      '--predicate',
      join(dir, 'sbom.json'),
      '--type',
      'spdxjson',
      '--key',
      key(),
      '--tlog-upload=false',
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal((await cli(['verify-attestation', `oci:${layout()}:v1`, '--type', 'spdxjson', ...TRUST()])).code, 0);
    assert.equal((await cli(['verify-attestation', `oci:${layout()}:v1`, '--type', 'cyclonedx', ...TRUST()])).code, 1);
  });

  it('a wrong key fails; an unsigned image fails', async () => {
    assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, 'other')])).code, 0);
    const wrong = await cli([
      'verify',
      `oci:${layout()}:v1`,
      '--key',
      join(dir, 'other.pub'),
      '--insecure-ignore-tlog',
      '--json',
    ]);
    assert.equal(wrong.code, 1);
    assert.ok(JSON.parse(wrong.stdout).results.every((r: { code: string }) => r.code === 'E_SIGNATURE_INVALID'));
    const unsigned = await cli(['verify', `oci:${layout()}:multi`, ...TRUST()]);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /no signature found/);
  });

  // Attack: anyone who can push to a registry can attach referrers; a hostile one must not stop the
  // verification of the real signature, nor count as one.
  it(
    'unreadable or hostile referrers are failed results, never a crash; the real signature still ' + 'verifies',
    async () => {
      const copy = join(dir, 'hostile');
      await cp(layout(), copy, { recursive: true });
      const store = await openLayoutStore(copy, {});
      const subject = await store.resolveTag('v1');
      const referrer = async (layers: object[]) => {
        const bytes = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
            config: {
              mediaType: 'application/vnd.oci.empty.v1+json',
              digest: `sha256:${createHash('sha256').update('{}').digest('hex')}`,
              size: 2,
            },
            layers,
            subject,
          }),
        );
        const desc = {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
          size: bytes.length,
        };
        await store.putManifest({ ...desc, bytes });
        await store.addReferrer(subject, desc);
      };
      const junk = Buffer.from('{"not":"a bundle"}');
      const junkDesc = {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        digest: `sha256:${createHash('sha256').update(junk).digest('hex')}`,
        size: junk.length,
      };
      await store.putBlob(junkDesc, junk);
      await referrer([junkDesc]); // a bundle that is not one
      await referrer([{ ...junkDesc, digest: `sha256:${'0'.repeat(64)}` }]); // a bundle blob that is not there
      await store.close();
      const v = await cli(['verify', `oci:${copy}:v1`, ...TRUST(), '--json']);
      assert.equal(v.code, 0, v.stderr);
      const results = JSON.parse(v.stdout).results as Array<{ ok: boolean; code?: string }>;
      assert.equal(results.filter((r) => r.ok).length, 2, 'the real referrer and the legacy .sig');
      assert.equal(results.filter((r) => !r.ok).length, 2, 'the junk bundle and the missing blob');
      assert.ok(results.every((r) => r.ok || (r.code && r.code !== 'E_INTERNAL')));
    },
  );
});

describe('copy round trip with signatures: layout → registry → docker-archive → layout', () => {
  it('keeps every digest and carries signatures and attestations; verify works on every transport', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const remote = `${registry.host}/team/app:v1`;
    const up = await cli(['copy', `oci:${layout()}:v1`, remote, '--insecure', '--json']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(JSON.parse(up.stdout).digest, imageDigest);
    assert.equal((await cli(['verify', remote, ...TRUST(), '--insecure'])).code, 0);
    const archive = join(dir, 'app.tar');
    assert.equal((await cli(['copy', remote, `docker-archive:${archive}:team/app:v1`, '--insecure'])).code, 0);
    assert.equal((await cli(['verify', `docker-archive:${archive}`, ...TRUST()])).code, 0);
    const back = join(dir, 'back');
    const down = await cli(['copy', `docker-archive:${archive}`, `oci:${back}:v1`, '--json']);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(JSON.parse(down.stdout).digest, imageDigest);
    assert.equal((await cli(['verify', `oci:${back}:v1`, ...TRUST()])).code, 0);
    assert.equal((await cli(['verify-attestation', `oci:${back}:v1`, '--type', 'spdxjson', ...TRUST()])).code, 0);
    const oa = join(dir, 'app.oci.tar');
    assert.equal((await cli(['copy', `oci:${back}:v1`, `oci-archive:${oa}`])).code, 0);
    assert.equal((await cli(['verify', `oci-archive:${oa}`, ...TRUST()])).code, 0);
  });

  it('a multi-platform index round-trips by digest; --platform picks one image', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const remote = `${registry.host}/team/multi:latest`;
    const up = await cli(['copy', `oci:${layout()}:multi`, remote, '--insecure', '--json']);
    assert.equal(JSON.parse(up.stdout).digest, indexDigest);
    const back = await cli(['copy', remote, `oci:${join(dir, 'multi-back')}:multi`, '--insecure', '--json']);
    assert.equal(JSON.parse(back.stdout).digest, indexDigest);
    const one = await cli([
      'copy',
      remote,
      `oci:${join(dir, 'arm')}:arm`,
      '--platform',
      'linux/arm64',
      '--insecure',
      '--json',
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.notEqual(JSON.parse(one.stdout).digest, indexDigest);
    const none = await cli(['copy', remote, `oci:${join(dir, 'x')}:x`, '--platform', 'linux/s390x', '--insecure']);
    assert.equal(none.code, 3);
  });

  it(
    'tampering: a changed layer is caught while copying; a re-signed other image does not verify ' + 'as this one',
    async () => {
      const tampered = join(dir, 'tampered');
      assert.equal((await cli(['copy', `oci:${layout()}:v1`, `oci:${tampered}:v1`])).code, 0);
      const store = await openLayoutStore(tampered, {});
      const manifest = JSON.parse((await store.getManifest(imageDigest)).bytes.toString());
      await store.close();
      const layerPath = join(tampered, 'blobs', 'sha256', manifest.layers[0].digest.slice(7));
      const bytes = await readFile(layerPath);
      bytes[bytes.length - 1]! ^= 1;
      await writeFile(layerPath, bytes);
      const copy = await cli(['copy', `oci:${tampered}:v1`, `oci:${join(dir, 'never')}:v1`]);
      assert.equal(copy.code, 3);
      assert.match(copy.stderr, /E_DIGEST_MISMATCH/);
    },
  );
});

describe('tampering with the manifest or the signature', () => {
  it('a manifest whose bytes no longer match its digest is refused; a retagged image has no signature', async () => {
    const copyDir = join(dir, 'tamper-manifest');
    assert.equal((await cli(['copy', `oci:${layout()}:v1`, `oci:${copyDir}:v1`])).code, 0);
    const manifestPath = join(copyDir, 'blobs', 'sha256', imageDigest.slice(7));
    const text = (await readFile(manifestPath, 'utf8')).replace('"schemaVersion":2', '"schemaVersion": 2');
    await writeFile(manifestPath, text);
    const r = await cli(['verify', `oci:${copyDir}:v1`, ...TRUST()]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /E_DIGEST_MISMATCH/);
    const other = await cli(['verify', `oci:${layout()}:multi`, ...TRUST()]);
    assert.equal(other.code, 1, 'signatures of one image never vouch for another');
  });

  it('a bundle whose signature was altered fails with E_SIGNATURE_INVALID', async () => {
    const { openLayoutStore: open } = await import('../../src/oci/layout/layout-store.ts');
    const { storedJson } = await import('../../src/oci/manifest.ts');
    const copyDir = join(dir, 'tamper-sig');
    assert.equal((await cli(['copy', `oci:${layout()}:v1`, `oci:${copyDir}:v1`, '--no-signatures'])).code, 0);
    const original = await openLayoutStore(layout(), {});
    const [ref] = (await original.listReferrers(imageDigest)).filter(
      (r) => r.annotations?.['dev.sigstore.bundle.predicateType'] !== 'https://spdx.dev/Document',
    );
    const refManifest = JSON.parse((await original.getManifest(ref!.digest)).bytes.toString());
    const chunks: Buffer[] = [];
    for await (const c of await original.getBlob(refManifest.layers[0])) chunks.push(c as Buffer);
    await original.close();
    const bundle = JSON.parse(Buffer.concat(chunks).toString());
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 2]! ^= 1;
    bundle.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    const store = await open(copyDir, {});
    const bytes = Buffer.from(JSON.stringify(bundle));
    const layer = {
      mediaType: refManifest.layers[0].mediaType,
      digest: `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`,
      size: bytes.length,
    };
    await store.putBlob(layer, bytes);
    await store.putBlob(refManifest.config, Buffer.from('{}'));
    const tampered = storedJson({ ...refManifest, layers: [layer] });
    await store.putManifest(tampered);
    await store.addReferrer(refManifest.subject, {
      mediaType: tampered.mediaType,
      digest: tampered.digest,
      size: tampered.bytes.length,
      artifactType: refManifest.artifactType,
    });
    await store.close();
    const r = await cli(['verify', `oci:${copyDir}:v1`, ...TRUST(), '--json']);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).results[0].code, 'E_SIGNATURE_INVALID');
  });
});

describe('TLS registry with basic auth', () => {
  it('pushes with --ca-cert and --username/--password-stdin; a wrong password is refused clearly', async (t) => {
    if (missingRegistry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const secure = await startRegistry({ tls: true, htpasswd: { username: 'ci', password: 's3cret' } });
    try {
      await writeFile(join(dir, 'ca.pem'), secure.caPem ?? '');
      const target = `${secure.host}/app:v1`;
      const ok = await cli(
        [
          'copy',
          `oci:${layout()}:v1`,
          target,
          '--ca-cert',
          join(dir, 'ca.pem'),
          '--username',
          'ci',
          '--password-stdin',
        ],
        { input: 's3cret\n' },
      );
      assert.equal(ok.code, 0, ok.stderr);
      const verifyTls = await cli(
        ['verify', target, ...TRUST(), '--ca-cert', join(dir, 'ca.pem'), '--username', 'ci', '--password-stdin'],
        { input: 's3cret' },
      );
      assert.equal(verifyTls.code, 0, verifyTls.stderr);
      const bad = await cli(
        ['image', 'inspect', target, '--ca-cert', join(dir, 'ca.pem'), '--username', 'ci', '--password-stdin'],
        { input: 'nope' },
      );
      assert.equal(bad.code, 3);
      assert.doesNotMatch(bad.stderr, /nope/);
    } finally {
      await secure.stop();
    }
  });
});

describe('skopeo interop', () => {
  it('skopeo reads what airlock pushes and writes; airlock reads what skopeo copies', async (t) => {
    const missing = skopeoMissing() || missingRegistry;
    if (missing || !registry) return t.skip(`skopeo or docker-registry unavailable: ${missing}`);
    const remote = `${registry.host}/interop/app:v1`;
    assert.equal((await cli(['copy', `oci:${layout()}:v1`, remote, '--insecure'])).code, 0);
    const inspect = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${remote}`));
    assert.equal(inspect.Digest, imageDigest);
    const viaSkopeo = join(dir, 'skopeo-layout');
    await skopeo('copy', '--src-tls-verify=false', `docker://${remote}`, `oci:${viaSkopeo}:v1`);
    const r = await cli(['image', 'inspect', `oci:${viaSkopeo}:v1`, '--json']);
    assert.equal(JSON.parse(r.stdout).digest, imageDigest);
    const archive = join(dir, 'skopeo.tar');
    await skopeo('copy', `oci:${layout()}:v1`, `docker-archive:${archive}:interop/app:v1`);
    const fromArchive = await cli(['copy', `docker-archive:${archive}`, `oci:${join(dir, 'from-skopeo-archive')}:v1`]);
    assert.equal(fromArchive.code, 0, fromArchive.stderr);
  });
});
