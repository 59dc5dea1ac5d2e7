// sign-blob / attest-blob / key as a user runs them: real processes, real files, and the
// --tlog-upload rules of seed 001 with their exact exit codes.
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCliProcess } from '../helpers/cli.ts';
import { canUnshareNet, UNSHARE_NET } from '../helpers/netns.ts';
import { verifyWithSigstoreJs } from '../helpers/sigstore.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-e2e-sign-');
const env = () => ({ AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') });
before(async () => {
  await writeFile(join(dir, 'app.tar'), 'the artifact');
  const r = await runCliProcess(['key', 'generate', '--output-key-prefix', join(dir, 'release')], { env: env() });
  assert.equal(r.code, 0, r.stderr);
});

describe('airlock key generate', () => {
  it('writes a 0600 encrypted key and a public key, and refuses to overwrite without --force', async () => {
    assert.equal((await stat(join(dir, 'release.key'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(dir, 'release.key'), 'utf8'), /^-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n/);
    const again = await runCliProcess(['key', 'generate', '--output-key-prefix', join(dir, 'release')], { env: env() });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /E_OUTPUT_EXISTS/);
  });

  it('COSIGN_PASSWORD set but empty means the empty password', async () => {
    const prefix = join(dir, 'empty');
    const r = await runCliProcess(['key', 'generate', '--output-key-prefix', prefix], { env: { COSIGN_PASSWORD: '' } });
    assert.equal(r.code, 0, r.stderr);
    const pub = await runCliProcess(['key', 'public', '--key', `${prefix}.key`], { env: { COSIGN_PASSWORD: '' } });
    assert.equal(pub.code, 0, pub.stderr);
    const wrong = await runCliProcess(['key', 'public', '--key', `${prefix}.key`], { env: { COSIGN_PASSWORD: 'x' } });
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /E_KEY_PASSWORD/);
  });

  it('without any password source and no terminal: E_PASSWORD_MISSING (exit 3), never a hang', async () => {
    const r = await runCliProcess(['key', 'generate', '--output-key-prefix', join(dir, 'nopw')], {
      env: { AIRLOCK_PASSWORD: undefined, COSIGN_PASSWORD: undefined },
    });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /E_PASSWORD_MISSING/);
  });
});

describe('--tlog-upload matrix', () => {
  const artifact = () => join(dir, 'app.tar');
  const bundle = () => join(dir, `b-${Math.random().toString(36).slice(2)}.json`);

  it('keyless + --tlog-upload=false → exit 2, explains why and how to sign offline', async () => {
    const r = await runCliProcess(['sign-blob', artifact(), '--tlog-upload=false', '--bundle', bundle()], {
      env: env(),
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /E_USAGE/);
    assert.match(r.stderr, /keyless signing cannot work without a transparency log/);
    assert.match(r.stderr, /--key .*--tlog-upload=false/);
  });

  it('keyless + --tlog-upload=true with no identity token → exit 2, naming where a token comes from', async () => {
    const noToken = { SIGSTORE_ID_TOKEN: '', ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' };
    const r = await runCliProcess(['sign-blob', artifact(), '--bundle', bundle()], { env: { ...env(), ...noToken } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /keyless signing \(no --key\) needs an OIDC identity token, and none was found \[E_USAGE\]/);
  });

  it('key + --tlog-upload=true with the log out of reach → exit 3 naming both offline options', async () => {
    const out = bundle();
    const r = await runCliProcess(
      [
        'sign-blob',
        artifact(),
        '--key',
        join(dir, 'release.key'),
        '--rekor-url',
        'http://127.0.0.1:9',
        '--bundle',
        out,
      ],
      { env: env() },
    );
    assert.equal(r.code, 3);
    assert.match(r.stderr, /E_TLOG_UPLOAD/);
    assert.match(r.stderr, /--tlog-upload=false/);
    assert.match(r.stderr, /--rekor-url/);
    await assert.rejects(stat(out), 'no bundle is written when the upload fails');
  });

  it('key + --tlog-upload=false → exit 0, and the bundle verifies with @sigstore/verify', async () => {
    const out = bundle();
    const r = await runCliProcess(
      ['sign-blob', artifact(), '--key', join(dir, 'release.key'), '--tlog-upload=false', '--bundle', out],
      {
        env: env(),
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const key = createPublicKey(await readFile(join(dir, 'release.pub')));
    verifyWithSigstoreJs(JSON.parse(await readFile(out, 'utf8')), await readFile(artifact()), key);
  });

  it('--rekor-url with --tlog-upload=false is a conflict (exit 2)', async () => {
    const r = await runCliProcess(
      [
        'sign-blob',
        artifact(),
        '--key',
        join(dir, 'release.key'),
        '--tlog-upload=false',
        '--rekor-url',
        'https://r',
        '--bundle',
        bundle(),
      ],
      { env: env() },
    );
    assert.equal(r.code, 2);
  });

  it('flag rules are checked before the key is read (no password asked for a usage error)', async () => {
    const r = await runCliProcess(
      ['sign-blob', artifact(), '--key', join(dir, 'release.key'), '--rekor-api-version', '3', '--bundle', bundle()],
      {
        env: { AIRLOCK_PASSWORD: undefined },
      },
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /rekor-api-version/);
  });
});

describe('offline signing in a network namespace with no interfaces (unshare -n)', () => {
  it('sign-blob and attest-blob with --key --tlog-upload=false succeed with no network at all', async (t) => {
    if (!canUnshareNet()) return t.skip('unshare -n is not permitted here (needs root): offline proof not run');
    const out = join(dir, 'netns.sigstore.json');
    const r = await runCliProcess(
      ['sign-blob', join(dir, 'app.tar'), '--key', join(dir, 'release.key'), '--tlog-upload=false', '--bundle', out],
      {
        env: env(),
        prefix: UNSHARE_NET,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    await writeFile(join(dir, 'pred.json'), '{"ok":true}');
    const att = await runCliProcess(
      [
        'attest-blob',
        join(dir, 'app.tar'),
        '--predicate',
        join(dir, 'pred.json'),
        '--type',
        'custom',
        '--key',
        join(dir, 'release.key'),
        '--tlog-upload=false',
        '--bundle',
        join(dir, 'netns-att.json'),
      ],
      { env: env(), prefix: UNSHARE_NET },
    );
    assert.equal(att.code, 0, att.stderr);
  });

  it(
    'the same command with the default --tlog-upload=true fails there with exit 3: the namespace ' +
      'really is offline',
    async (t) => {
      if (!canUnshareNet()) return t.skip('unshare -n is not permitted here (needs root)');
      const r = await runCliProcess(
        ['sign-blob', join(dir, 'app.tar'), '--key', join(dir, 'release.key'), '--bundle', join(dir, 'x.json')],
        {
          env: env(),
          prefix: UNSHARE_NET,
        },
      );
      assert.equal(r.code, 3);
      assert.match(r.stderr, /E_TLOG_UPLOAD/);
    },
  );
});

describe('attest-blob', () => {
  it('--type short names resolve; unknown types are usage errors', async () => {
    await writeFile(join(dir, 'sbom.json'), '{"spdxVersion":"SPDX-2.3"}');
    const out = join(dir, 'att.json');
    const r = await runCliProcess(
      [
        'attest-blob',
        join(dir, 'app.tar'),
        '--predicate',
        join(dir, 'sbom.json'),
        '--type',
        'spdxjson',
        '--key',
        join(dir, 'release.key'),
        '--tlog-upload=false',
        '--bundle',
        out,
        '--json',
      ],
      { env: env() },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).predicateType, 'https://spdx.dev/Document');
    const bad = await runCliProcess(
      [
        'attest-blob',
        join(dir, 'app.tar'),
        '--predicate',
        join(dir, 'sbom.json'),
        '--type',
        'nonsense',
        '--key',
        join(dir, 'release.key'),
        '--tlog-upload=false',
        '--bundle',
        out,
      ],
      { env: env() },
    );
    assert.equal(bad.code, 2);
  });
});

describe('--tsa-url (RFC 3161, a real openssl ts TSA)', () => {
  it('embeds a timestamp that @sigstore/verify accepts with timestampThreshold 1', async () => {
    const { startTestTsa, tsaTrustedRootJson } = await import('../helpers/tsa.ts');
    const tsa = await startTestTsa();
    try {
      const out = join(dir, 'tsa.sigstore.json');
      const r = await runCliProcess(
        [
          'sign-blob',
          join(dir, 'app.tar'),
          '--key',
          join(dir, 'release.key'),
          '--tlog-upload=false',
          '--tsa-url',
          tsa.url,
          '--bundle',
          out,
        ],
        { env: env() },
      );
      assert.equal(r.code, 0, r.stderr);
      const bundle = JSON.parse(await readFile(out, 'utf8'));
      assert.equal(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
      const key = createPublicKey(await readFile(join(dir, 'release.pub')));
      const trustedRoot = tsaTrustedRootJson(tsa, new Date(Date.now() - 3_600_000));
      verifyWithSigstoreJs(bundle, await readFile(join(dir, 'app.tar')), key, { timestampThreshold: 1, trustedRoot });
      const unreachable = await runCliProcess(
        [
          'sign-blob',
          join(dir, 'app.tar'),
          '--key',
          join(dir, 'release.key'),
          '--tlog-upload=false',
          '--tsa-url',
          'http://127.0.0.1:9/tsr',
          '--bundle',
          join(dir, 'n.json'),
        ],
        { env: env() },
      );
      assert.equal(unreachable.code, 3);
      assert.match(unreachable.stderr, /E_TSA/);
    } finally {
      await tsa.stop();
    }
  });
});

describe('pkcs11: keys (SoftHSM2)', () => {
  it('sign-blob through a pkcs11: URI; the bundle verifies with the public key read from the token', async (t) => {
    const { createSoftHsmToken, softHsmMissing } = await import('../helpers/softhsm.ts');
    const missing = softHsmMissing();
    if (missing) return t.skip(`softhsm2 not installed: ${missing}`);
    const token = await createSoftHsmToken({ label: 'airlock-e2e' });
    try {
      await token.generateEcKey('release', '01', 'P-256');
      await writeFile(join(dir, 'pin'), `${token.pin}\n`);
      const uri =
        `pkcs11:token=airlock-e2e;object=release?module-path=${token.modulePath}` + `&pin-source=${join(dir, 'pin')}`;
      const hsmEnv = { ...env(), ...token.env };
      const out = join(dir, 'hsm.sigstore.json');
      const r = await runCliProcess(
        ['sign-blob', join(dir, 'app.tar'), '--key', uri, '--tlog-upload=false', '--bundle', out],
        { env: hsmEnv },
      );
      assert.equal(r.code, 0, r.stderr);
      const pub = await runCliProcess(['key', 'public', '--key', uri], { env: hsmEnv });
      assert.equal(pub.code, 0, pub.stderr);
      const key = createPublicKey(pub.stdout);
      verifyWithSigstoreJs(JSON.parse(await readFile(out, 'utf8')), await readFile(join(dir, 'app.tar')), key);
      await writeFile(join(dir, 'pred.json'), '{"ok":true}');
      const attOut = join(dir, 'hsm-att.json');
      const att = await runCliProcess(
        [
          'attest-blob',
          join(dir, 'app.tar'),
          '--predicate',
          join(dir, 'pred.json'),
          '--key',
          uri,
          '--tlog-upload=false',
          '--bundle',
          attOut,
        ],
        { env: hsmEnv },
      );
      assert.equal(att.code, 0, att.stderr);
      verifyWithSigstoreJs(JSON.parse(await readFile(attOut, 'utf8')), undefined, key);
    } finally {
      await token.cleanup();
    }
  });
});

describe('airlock verify-blob (process)', () => {
  const key = () => join(dir, 'release.key');
  const pub = () => join(dir, 'release.pub');
  async function signed(name: string, extra: string[] = []): Promise<string> {
    const out = join(dir, `${name}.sigstore.json`);
    const r = await runCliProcess(
      ['sign-blob', join(dir, 'app.tar'), '--key', key(), '--tlog-upload=false', '--bundle', out, ...extra],
      { env: env() },
    );
    assert.equal(r.code, 0, r.stderr);
    return out;
  }

  it(
    'verifies a sign-blob bundle with the .pub, the private key file, and env://, warning about ' +
      '--insecure-ignore-tlog every time',
    async () => {
      const bundle = await signed('v1');
      const pem = await readFile(pub(), 'utf8');
      for (const ref of [pub(), key(), 'env://RELEASE_PUB']) {
        const r = await runCliProcess(
          ['verify-blob', join(dir, 'app.tar'), '--bundle', bundle, '--key', ref, '--insecure-ignore-tlog'],
          {
            env: { ...env(), RELEASE_PUB: pem },
          },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /warning: --insecure-ignore-tlog/);
        assert.match(r.stderr, /Verified OK/);
      }
    },
  );

  it('tampered artifact, bundle or signature: exit 1 with the specific code', async () => {
    const bundle = await signed('v2');
    await writeFile(join(dir, 'other.tar'), 'not the artifact');
    const mismatch = await runCliProcess(
      ['verify-blob', join(dir, 'other.tar'), '--bundle', bundle, '--key', pub(), '--insecure-ignore-tlog', '--json'],
      { env: env() },
    );
    assert.equal(mismatch.code, 1);
    const doc = JSON.parse(mismatch.stdout);
    assert.equal(doc.error.code, 'E_ARTIFACT_MISMATCH');
    assert.ok(doc.checks.some((c: { result: string }) => c.result === 'fail'));
    const json = JSON.parse(await readFile(bundle, 'utf8'));
    json.messageSignature.signature = Buffer.from('garbage').toString('base64');
    await writeFile(join(dir, 'bad.json'), JSON.stringify(json));
    const bad = await runCliProcess(
      [
        'verify-blob',
        join(dir, 'app.tar'),
        '--bundle',
        join(dir, 'bad.json'),
        '--key',
        pub(),
        '--insecure-ignore-tlog',
      ],
      { env: env() },
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /E_SIGNATURE_INVALID/);
    await writeFile(join(dir, 'junk.json'), '{not json');
    const junk = await runCliProcess(
      [
        'verify-blob',
        join(dir, 'app.tar'),
        '--bundle',
        join(dir, 'junk.json'),
        '--key',
        pub(),
        '--insecure-ignore-tlog',
      ],
      { env: env() },
    );
    assert.equal(junk.code, 1);
    assert.match(junk.stderr, /E_BUNDLE_MALFORMED/);
  });

  it('keyless without both identity and issuer is refused (exit 2); --insecure-ignore-tlog needs --key', async () => {
    const bundle = await signed('v3');
    for (const flags of [
      [],
      ['--certificate-identity', 'x'],
      ['--certificate-oidc-issuer', 'y'],
      ['--certificate-identity', 'x', '--certificate-oidc-issuer', 'y', '--insecure-ignore-tlog'],
    ]) {
      const r = await runCliProcess(['verify-blob', join(dir, 'app.tar'), '--bundle', bundle, ...flags], {
        env: env(),
      });
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    }
  });

  it('without --trusted-root and with no installed trust root: exit 3 saying how to get one', async () => {
    const bundle = await signed('v4');
    const r = await runCliProcess(['verify-blob', join(dir, 'app.tar'), '--bundle', bundle, '--key', pub()], {
      env: env(),
    });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /E_TRUST_ROOT_MISSING/);
    assert.match(r.stderr, /airlock trust import/);
  });

  it('verify-blob-attestation --type, and the digest-only form sha256:<hex>', async () => {
    await writeFile(join(dir, 'sbom.json'), '{"spdxVersion":"SPDX-2.3"}');
    const att = join(dir, 'sbom.sigstore.json');
    const a = await runCliProcess(
      [
        'attest-blob',
        join(dir, 'app.tar'),
        '--predicate',
        join(dir, 'sbom.json'),
        '--type',
        'spdxjson',
        '--key',
        key(),
        '--tlog-upload=false',
        '--bundle',
        att,
      ],
      { env: env() },
    );
    assert.equal(a.code, 0, a.stderr);
    const ok = await runCliProcess(
      [
        'verify-blob-attestation',
        join(dir, 'app.tar'),
        '--bundle',
        att,
        '--type',
        'spdxjson',
        '--key',
        pub(),
        '--insecure-ignore-tlog',
      ],
      { env: env() },
    );
    assert.equal(ok.code, 0, ok.stderr);
    const wrongType = await runCliProcess(
      [
        'verify-blob-attestation',
        join(dir, 'app.tar'),
        '--bundle',
        att,
        '--type',
        'cyclonedx',
        '--key',
        pub(),
        '--insecure-ignore-tlog',
      ],
      { env: env() },
    );
    assert.equal(wrongType.code, 1);
    assert.match(wrongType.stderr, /E_PREDICATE_TYPE/);
    const digest = `sha256:${createHash('sha256')
      .update(await readFile(join(dir, 'app.tar')))
      .digest('hex')}`;
    const bundle = await signed('v5');
    const byDigest = await runCliProcess(
      ['verify-blob', digest, '--bundle', bundle, '--key', pub(), '--insecure-ignore-tlog'],
      { env: env() },
    );
    assert.equal(byDigest.code, 0, byDigest.stderr);
  });

  it('a pkcs11: key verifies what it signed', async (t) => {
    const { createSoftHsmToken, softHsmMissing } = await import('../helpers/softhsm.ts');
    const missing = softHsmMissing();
    if (missing) return t.skip(`softhsm2 not installed: ${missing}`);
    const token = await createSoftHsmToken({ label: 'airlock-verify' });
    try {
      await token.generateEcKey('release', '02', 'P-256');
      const uri = `pkcs11:token=airlock-verify;object=release?module-path=${token.modulePath}`;
      const hsmEnv = { ...env(), ...token.env, AIRLOCK_PKCS11_PIN: token.pin };
      const out = join(dir, 'hsm-v.sigstore.json');
      const s = await runCliProcess(
        ['sign-blob', join(dir, 'app.tar'), '--key', uri, '--tlog-upload=false', '--bundle', out],
        { env: hsmEnv },
      );
      assert.equal(s.code, 0, s.stderr);
      const v = await runCliProcess(
        ['verify-blob', join(dir, 'app.tar'), '--bundle', out, '--key', uri, '--insecure-ignore-tlog'],
        { env: hsmEnv },
      );
      assert.equal(v.code, 0, v.stderr);
      const wrong = await runCliProcess(
        ['verify-blob', join(dir, 'app.tar'), '--bundle', out, '--key', pub(), '--insecure-ignore-tlog'],
        { env: hsmEnv },
      );
      assert.equal(wrong.code, 1);
    } finally {
      await token.cleanup();
    }
  });
});
