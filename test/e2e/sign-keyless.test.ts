// Keyless signing through the CLI, end to end: `airlock ca serve` as the CA (started after `ca init`,
// trusting test issuers: a Kubernetes cluster, an IdP that verifies emails, GitHub Actions), a real
// `airlock log serve` as the Rekor v2 log, a real `openssl ts` TSA. The CA verifies every token, so
// tokens are real JWTs (jose) from those issuers. The trusted root is made by createTrustedRoot from the
// CA's chain, the log's key and the TSA's chain, and `airlock verify-blob` / `verify` pinned to the
// identity decide.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { createTrustedRoot } from '../../src/trust/create-trusted-root.ts';
import { type CaServe, startCaServe } from '../helpers/ca-server.ts';
import { runCli, runCliProcess } from '../helpers/cli.ts';
import { makeLogKey, startLog, type TestLog } from '../helpers/log-server.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import {
  githubClaims,
  kubernetesClaims,
  registeredClaims,
  testIssuer,
  type TestIssuer,
} from '../helpers/oidc-issuer.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { startTestTsa, type TestTsa } from '../helpers/tsa.ts';

const K8S = 'https://kubernetes.default.svc.cluster.local';
const IDP = 'https://idp.corp.internal';
const GHA = 'https://token.actions.githubusercontent.com';
const SAN = 'https://kubernetes.io/namespaces/ci/serviceaccounts/release';
const EMAIL = 'dev@corp.internal';

let k8s: TestIssuer;
let idp: TestIssuer;
let gha: TestIssuer;
/** A projected service-account token of `namespace`/`account`, valid ten minutes from now. */
const workload = (account: string, namespace = 'ci') => k8s.sign(kubernetesClaims(K8S, new Date(), namespace, account));
/** A person's token from the IdP naming EMAIL; `verified` is its email_verified claim. */
const person = (verified: boolean) =>
  idp.sign({ ...registeredClaims(IDP, new Date(), '1234'), email: EMAIL, email_verified: verified });

let ca: CaServe;
let log: TestLog;
let tsa: TestTsa;
/** The log's ID as the trusted root names it: a bundle's entry from that log carries it. */
let tlogKeyId = '';
after(async () => {
  await log?.stop();
  await tsa?.stop();
  await ca?.stop();
});
const dir = useTempDir('airlock-e2e-keyless-');
const p = (name: string) => join(dir, name);

before(async () => {
  [k8s, idp, gha] = await Promise.all([testIssuer(K8S, 'RS256'), testIssuer(IDP), testIssuer(GHA, 'RS256')]);
  const issuers = [
    { issuer: k8s, type: 'kubernetes' as const },
    { issuer: idp, type: 'email' as const },
    { issuer: gha, type: 'github-workflow' as const },
  ];
  await makeLogKey(p('log'));
  [ca, log, tsa] = await Promise.all([
    startCaServe(dir, issuers, ['--rate-limit', '0']),
    startLog(p('log-data'), p('log.key')),
    startTestTsa(),
  ]);
  const validFor = { start: new Date(Date.now() - 3_600_000) };
  const root = createTrustedRoot({
    certificateAuthorities: [{ certChainPem: ca.chainPem, uri: ca.url, validFor }],
    tlogs: [{ publicKeyPem: await readFile(p('log.pub'), 'utf8'), baseUrl: log.url, origin: log.origin, validFor }],
    timestampAuthorities: [{ certChainPem: tsa.chainPem.join(''), uri: tsa.url, validFor }],
  });
  await writeFile(p('trusted_root.json'), JSON.stringify(root));
  tlogKeyId = root.tlogs[0]?.logId.keyId ?? '';
  await writeFile(p('app.txt'), 'an artifact signed keyless\n');
  await writeFile(p('predicate.json'), '{"built":"yes"}');
  await writeFile(p('token'), `${await workload('release')}\n`);
});

const services = () => ['--fulcio-url', ca.url, '--rekor-url', log.url, '--rekor-api-version', '2'];
const signKeyless = (args: string[], env: Record<string, string> = {}) =>
  runCli(['sign-blob', p('app.txt'), ...services(), '--tsa-url', tsa.url, ...args], { env });
/** The trust every verification here uses: the root, the identity pinned, no CT log (the CA has none). */
const pinned = (identity: string, issuer = K8S) => [
  '--trusted-root',
  p('trusted_root.json'),
  '--certificate-identity',
  identity,
  '--certificate-oidc-issuer',
  issuer,
  '--ctlog-threshold',
  '0',
];
const verifyBlob = (bundle: string, identity = SAN, issuer = K8S) =>
  runCli(['verify-blob', p('app.txt'), '--bundle', bundle, ...pinned(identity, issuer)]);

describe('sign-blob keyless: certificate from the CA, Rekor v2 entry, RFC 3161 timestamp', () => {
  it('writes a v0.3 bundle carrying the certificate for the token identity, which verify-blob accepts', async () => {
    const r = await signKeyless(['--identity-token', `@${p('token')}`, '--bundle', p('b.json'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const bundle = JSON.parse(await readFile(p('b.json'), 'utf8'));
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    const cert = new X509Certificate(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
    assert.equal(cert.subjectAltName, `URI:${SAN}`);
    assert.equal(bundle.verificationMaterial.tlogEntries.length, 1);
    assert.equal(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    assert.equal(JSON.parse(r.stdout).certificate.identity, `URI:${SAN}`);
    const v = await verifyBlob(p('b.json'));
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stderr, /Verified OK/);
  });

  it('verify-blob pinned to another identity refuses it (exit 1)', async () => {
    const v = await verifyBlob(p('b.json'), 'https://kubernetes.io/namespaces/ci/serviceaccounts/intruder');
    assert.equal(v.code, 1, v.stderr);
  });

  it('SIGSTORE_ID_TOKEN is used when --identity-token is not given; --identity-token wins over it', async () => {
    const other = 'https://kubernetes.io/namespaces/other/serviceaccounts/bot';
    const env = { SIGSTORE_ID_TOKEN: await workload('bot', 'other') };
    const fromEnv = await signKeyless(['--bundle', p('env.json')], env);
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal((await verifyBlob(p('env.json'), other)).code, 0);
    const flagWins = await signKeyless(['--identity-token', `@${p('token')}`, '--bundle', p('flag.json')], env);
    assert.equal(flagWins.code, 0, flagWins.stderr);
    assert.equal((await verifyBlob(p('flag.json'))).code, 0);
  });

  it('a verified email the CA certifies verifies pinned to it, and not to another identity or issuer', async () => {
    const r = await signKeyless(['--identity-token', await person(true), '--bundle', p('email.json'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).certificate.identity, `email:${EMAIL}`);
    const ok = await verifyBlob(p('email.json'), EMAIL, IDP);
    assert.equal(ok.code, 0, ok.stderr);
    for (const [identity, issuer] of [
      [SAN, K8S],
      [SAN, IDP],
      [EMAIL, K8S],
      ['other@corp.internal', IDP],
    ] as const) {
      const v = await verifyBlob(p('email.json'), identity, issuer);
      assert.equal(v.code, 1, `${identity} from ${issuer}: ${v.stderr}`);
    }
  });

  it('attest-blob keyless: a DSSE bundle with the certificate, logged in the v2 log', async () => {
    const r = await runCli([
      'attest-blob',
      p('app.txt'),
      '--predicate',
      p('predicate.json'),
      ...services(),
      '--tsa-url',
      tsa.url,
      '--identity-token',
      `@${p('token')}`,
      '--bundle',
      p('att.json'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const bundle = JSON.parse(await readFile(p('att.json'), 'utf8'));
    assert.ok(bundle.dsseEnvelope);
    assert.ok(bundle.verificationMaterial.certificate.rawBytes);
    assert.equal(bundle.verificationMaterial.tlogEntries[0].kindVersion.kind, 'hashedrekord');
    const verifyAttestation = (identity: string, type = 'custom') =>
      runCli(['verify-blob-attestation', p('app.txt'), '--bundle', p('att.json'), '--type', type, ...pinned(identity)]);
    const ok = await verifyAttestation(SAN);
    assert.equal(ok.code, 0, ok.stderr);
    const wrongIdentity = await verifyAttestation('https://kubernetes.io/namespaces/ci/serviceaccounts/intruder');
    assert.equal(wrongIdentity.code, 1, wrongIdentity.stderr);
    const wrongType = await verifyAttestation(SAN, 'spdxjson');
    assert.equal(wrongType.code, 1, wrongType.stderr);
  });
});

describe('--signing-config', () => {
  it('signs with the CA, v2 log and TSA a SigningConfig v0.2 names, which verify-blob accepts', async () => {
    const service = (url: string, majorApiVersion: number) => ({
      url,
      majorApiVersion,
      validFor: { start: '2026-01-01T00:00:00Z' },
      operator: 'corp.internal',
    });
    const config = {
      mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
      caUrls: [service(ca.url, 1)],
      oidcUrls: [],
      rekorTlogUrls: [service(log.url, 2)],
      tsaUrls: [service(tsa.url, 1)],
      rekorTlogConfig: { selector: 'ANY' },
      tsaConfig: { selector: 'ANY' },
    };
    await writeFile(p('signing_config.json'), JSON.stringify(config));
    const r = await runCli([
      'sign-blob',
      p('app.txt'),
      '--signing-config',
      p('signing_config.json'),
      '--identity-token',
      `@${p('token')}`,
      '--bundle',
      p('sc.json'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await verifyBlob(p('sc.json'))).code, 0);
    const material = JSON.parse(await readFile(p('sc.json'), 'utf8')).verificationMaterial;
    assert.equal(material.tlogEntries[0].logId.keyId, tlogKeyId, "the config's log holds the entry");
    assert.equal(material.timestampVerificationData.rfc3161Timestamps.length, 1, "the config's TSA timestamped it");
    const both = await runCli([
      'sign-blob',
      p('app.txt'),
      '--signing-config',
      p('signing_config.json'),
      '--tsa-url',
      tsa.url,
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--signing-config conflicts with --tsa-url/);
  });
});

describe('GitHub Actions as the token source', () => {
  // A child process: @sigstore/sign's CIContextProvider reads process.env itself.
  it("asks the runner's endpoint for a sigstore token with its bearer; the CA certifies that token", async () => {
    const claims = githubClaims(GHA, new Date());
    const ghaToken = await gha.sign(claims);
    const workflow = `https://github.com/${String(claims.job_workflow_ref)}`;
    const asked: Array<{ url: string; auth: string | undefined }> = [];
    const endpoint = createServer((req, res) => {
      asked.push({ url: req.url ?? '', auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ value: ghaToken }));
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = endpoint.address() as AddressInfo;
      const r = await runCliProcess(
        ['sign-blob', p('app.txt'), ...services(), '--tsa-url', tsa.url, '--bundle', p('gha.json')],
        {
          env: {
            SIGSTORE_ID_TOKEN: '',
            ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?api-version=2.0`,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-bearer',
          },
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(asked, [{ url: '/token?api-version=2.0&audience=sigstore', auth: 'Bearer runner-bearer' }]);
      assert.ok(!r.stderr.includes(ghaToken) && !r.stderr.includes('runner-bearer'));
      const bundle = JSON.parse(await readFile(p('gha.json'), 'utf8'));
      const cert = new X509Certificate(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
      assert.equal(cert.subjectAltName, `URI:${workflow}`, 'the certificate is for the token the runner gave');
      const v = await verifyBlob(p('gha.json'), workflow, GHA);
      assert.equal(v.code, 0, v.stderr);
    } finally {
      await new Promise<void>((resolve) => endpoint.close(() => resolve()));
    }
  });
});

describe('image sign keyless', () => {
  it('attaches a bundle with the certificate that verify accepts under the pinned identity', async () => {
    const store = await openLayoutStore(p('layout'), { create: true });
    await makeTestImage(store, { tag: 'v1' });
    const image = `oci:${p('layout')}:v1`;
    const r = await runCli(['sign', image, ...services(), '--tsa-url', tsa.url, '--identity-token', `@${p('token')}`]);
    assert.equal(r.code, 0, r.stderr);
    const attested = await runCli([
      'attest',
      image,
      '--predicate',
      p('predicate.json'),
      '--type',
      'custom',
      ...services(),
      '--tsa-url',
      tsa.url,
      '--identity-token',
      `@${p('token')}`,
    ]);
    assert.equal(attested.code, 0, attested.stderr);
    const verify = (identity: string, command = ['verify']) => runCli([...command, image, ...pinned(identity)]);
    const ok = await verify(SAN);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await verify('https://kubernetes.io/namespaces/x/serviceaccounts/y')).code, 1);
    const att = await verify(SAN, ['verify-attestation', '--type', 'custom']);
    assert.equal(att.code, 0, att.stderr);
    const legacy = await runCli(['sign', image, ...services(), '--tsa-url', tsa.url, '--legacy-signature']);
    assert.equal(legacy.code, 2);
    assert.match(legacy.stderr, /--legacy-signature is not available for keyless/);
  });
});

/** Every file under `dir`, concatenated: wherever a record went, it is searched. */
async function everything(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
}

describe('keyless refusals', () => {
  it('no token: usage error naming the three sources, before any request', async () => {
    const before = await ca.signingCertRequests();
    const r = await signKeyless(['--bundle', p('none.json')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /needs an OIDC identity token/);
    assert.match(r.stderr, /--identity-token @FILE.*SIGSTORE_ID_TOKEN.*GitHub Actions/);
    assert.equal(await ca.signingCertRequests(), before);
  });

  it('a Rekor v2 log without --tsa-url, and --tlog-upload=false, are refused with their messages', async () => {
    const noTsa = await runCli(['sign-blob', p('app.txt'), ...services(), '--identity-token', `@${p('token')}`]);
    assert.equal(noTsa.code, 2);
    assert.match(noTsa.stderr, /keyless signing with a Rekor v2 log needs a timestamp authority \(--tsa-url\)/);
    const offline = await runCli(['sign-blob', p('app.txt'), '--tlog-upload=false', '--bundle', p('x.json')]);
    assert.equal(offline.code, 2);
    assert.match(
      offline.stderr,
      /--tlog-upload=false needs --key: keyless signing cannot work without a transparency log/,
    );
  });

  it("a token the CA refuses: its 400 and Fulcio's message, the token in no output or audit record", async () => {
    const stranger = await testIssuer('https://stranger.corp.internal');
    const unknownIssuer = await stranger.sign(kubernetesClaims(stranger.url, new Date(), 'ci', 'release'));
    const claims = kubernetesClaims(K8S, new Date(), 'ci', 'release');
    const wrongAudience = await k8s.sign({ ...claims, aud: ['not-sigstore'] });
    await writeFile(p('refused-token'), `${wrongAudience}\n`);
    const home = p('audited-home');
    const before = await ca.signingCertRequests();
    for (const args of [
      ['--identity-token', unknownIssuer],
      ['--identity-token', `@${p('refused-token')}`],
    ]) {
      const r = await signKeyless([...args, '--bundle', p('refused.json'), '--json'], {
        AIRLOCK_DEBUG: '1',
        AIRLOCK_HOME: home,
      });
      assert.equal(r.code, 3, r.stderr);
      const refused = `the certificate authority ${ca.url} refused to issue a signing certificate: HTTP 400: `;
      assert.ok(r.stderr.includes(`${refused}There was an error processing the identity token`), r.stderr);
      for (const t of [unknownIssuer, wrongAudience]) {
        assert.ok(!r.stderr.includes(t) && !r.stdout.includes(t), 'the token leaked into the output');
      }
    }
    assert.equal(await ca.signingCertRequests(), before + 2, 'each asked the CA once: a 400 is not retried');
    const recorded = await everything(home);
    assert.match(recorded, /refused to issue a signing certificate/, 'the refusals were recorded');
    for (const t of [unknownIssuer, wrongAudience]) {
      assert.ok(!recorded.includes(t), 'the token leaked into the audit trail');
      assert.ok(!JSON.stringify(ca.lines()).includes(t), "the token leaked into the CA's log");
    }
    const notJwt = await signKeyless(['--identity-token', 'opaque-access-token-value', '--bundle', p('n.json')], {
      AIRLOCK_DEBUG: '1',
    });
    assert.equal(notJwt.code, 2);
    assert.ok(!notJwt.stderr.includes('opaque-access-token-value'));
    const unverified = await signKeyless(['--identity-token', await person(false), '--bundle', p('u.json')]);
    assert.equal(unverified.code, 1);
    assert.match(unverified.stderr, /did not verify it \(email_verified is not true\)/);
  });
});
