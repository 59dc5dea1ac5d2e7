// `airlock trust create` → `trust show` → `verify-blob --trusted-root` as an operator of a private
// Sigstore deployment runs them: PEM files in, a trusted_root.json out that verifies a keyless bundle
// from the private CA + TSA and refuses one from another CA; and the usage errors with exit codes.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleToJSON, toMessageSignatureBundle } from '@sigstore/bundle';
import { requestTimestamp } from '../../src/sigstore/tsa.ts';
import { type CliResult, runCliProcess } from '../helpers/cli.ts';
import { createPrivateCa, type PrivateCa } from '../helpers/private-ca.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { startTestTsa, type TestTsa } from '../helpers/tsa.ts';

const SAN = 'https://ci.internal/org/app/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.ci.internal';
const artifactBytes = Buffer.from('the artifact\n');

let ca: PrivateCa;
let otherCa: PrivateCa;
let tsa: TestTsa;
let start: string;
// Registered before the folder below (after hooks run in order): the TSA stops and the CAs are cleaned up first.
after(async () => {
  await tsa?.stop();
  await ca?.cleanup();
  await otherCa?.cleanup();
});
const dir = useTempDir('airlock-e2e-trust-');
const p = (name: string) => join(dir, name);

function cli(argv: string[]): Promise<CliResult> {
  const env = { AIRLOCK_HOME: p('home') };
  return runCliProcess(argv, { env });
}

async function keylessBundle(from: PrivateCa): Promise<unknown> {
  const leaf = await from.issueLeaf({ san: SAN, issuer: ISSUER });
  const signature = sign('sha256', artifactBytes, leaf.privateKey);
  const digest = createHash('sha256').update(artifactBytes).digest();
  const bundle = toMessageSignatureBundle({ digest, signature, certificate: leaf.certDer });
  bundle.verificationMaterial.timestampVerificationData = {
    rfc3161Timestamps: [{ signedTimestamp: Buffer.from(await requestTimestamp(signature, { url: tsa.url })) }],
  };
  return bundleToJSON(bundle);
}

/** verify-blob of app.txt with `bundle` under `root`, pinned to SAN and ISSUER, no log entry required. */
const verifyKeyless = (bundle: string, root: string, ...extra: string[]) =>
  cli([
    'verify-blob',
    p('app.txt'),
    '--bundle',
    p(bundle),
    '--trusted-root',
    p(root),
    '--certificate-identity',
    SAN,
    '--certificate-oidc-issuer',
    ISSUER,
    '--tlog-threshold',
    '0',
    ...extra,
  ]);

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const fulcio = (extra = '') =>
  `--fulcio=url=https://fulcio.internal,certificate-chain=${p('fulcio.pem')},start-time=${start}${extra}`;
const rekor = (extra = '') =>
  `--rekor=url=https://rekor.internal,public-key=${p('rekor.pub')},start-time=${start},origin=rekor.internal${extra}`;
const ctfe = () => `--ctfe=url=https://ctfe.internal,public-key=${p('ctfe.pub')},start-time=${start}`;
const tsaSpec = (chain = p('tsa.pem')) => `--tsa=url=${tsa.url},certificate-chain=${chain},start-time=${start}`;
const createArgs = (out: string) => ['trust', 'create', '--out', out, fulcio(), rekor(), ctfe(), tsaSpec()];

before(async () => {
  [ca, otherCa, tsa] = await Promise.all([createPrivateCa(), createPrivateCa('another CA'), startTestTsa()]);
  start = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await Promise.all([
    writeFile(p('fulcio.pem'), ca.rootPem),
    writeFile(p('tsa.pem'), tsa.chainPem.join('')),
    writeFile(p('tsa-reversed.pem'), [tsa.rootPem, tsa.leafPem].join('')),
    writeFile(p('rekor.pub'), pem(generateKeyPairSync('ed25519').publicKey)),
    writeFile(p('ctfe.pub'), pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)),
    writeFile(p('app.txt'), artifactBytes),
  ]);
  await writeFile(p('good.sigstore.json'), JSON.stringify(await keylessBundle(ca)));
  await writeFile(p('foreign.sigstore.json'), JSON.stringify(await keylessBundle(otherCa)));
});

describe('airlock trust create → show → verify-blob', () => {
  it('creates the root, never overwrites it without --force', async () => {
    const r = await cli(createArgs(p('root.json')));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Trusted root written to .*root\.json \(sha256:[0-9a-f]{64}\)/);
    const json = JSON.parse(await readFile(p('root.json'), 'utf8'));
    assert.equal(json.mediaType, 'application/vnd.dev.sigstore.trustedroot+json;version=0.1');
    assert.equal(json.tlogs[0].publicKey.keyDetails, 'PKIX_ED25519');
    assert.equal(json.tlogs[0].publicKey.validFor.start, start);
    assert.equal(json.timestampAuthorities[0].certChain.certificates.length, 2);

    const again = await cli(createArgs(p('root.json')));
    assert.equal(again.code, 2);
    assert.match(again.stderr, /E_OUTPUT_EXISTS/);
    const forced = await cli([...createArgs(p('root.json')), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
  });

  it('--json reports the summary; without --out the root goes to stdout', async () => {
    const r = await cli(['--json', ...createArgs(p('root-json.json'))]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.match(doc.digest, /^sha256:/);
    assert.equal(doc.tlogs[0].logIdRule, 'c2sp-checkpoint');
    assert.equal(doc.ctlogs[0].logIdRule, 'rfc6962');
    assert.deepEqual(doc.problems, []);
    const toStdout = await cli(['trust', 'create', rekor()]);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.equal(JSON.parse(toStdout.stdout).tlogs.length, 1);
  });

  it('show prints media type, authorities and log IDs; --json the parsed summary', async () => {
    const r = await cli(['trust', 'show', p('root.json')]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(await readFile(p('root.json'), 'utf8'));
    const logId = Buffer.from(json.tlogs[0].logId.keyId, 'base64');
    assert.match(r.stderr, /application\/vnd\.dev\.sigstore\.trustedroot\+json;version=0\.1/);
    assert.match(r.stderr, /airlock test \/ airlock test CA/);
    assert.ok(r.stderr.includes(logId.toString('hex')) && r.stderr.includes(logId.toString('base64')), r.stderr);
    assert.match(r.stderr, /C2SP checkpoint key ID \(Rekor v2\), origin rekor\.internal/);
    assert.match(r.stderr, /Ed25519 \(PKIX_ED25519\)/);
    const j = await cli(['trust', 'show', p('root.json'), '--json']);
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.tlogs[0].logId.hex, logId.toString('hex'));
    assert.equal(doc.certificateAuthorities[0].chainLength, 1);
    assert.equal(doc.timestampAuthorities[0].uri, tsa.url);
    assert.equal(doc.tlogs[0].validFor.start, start);
  });

  const verify = (bundle: string) => verifyKeyless(bundle, 'root.json', '--ctlog-threshold', '0');

  it('verify-blob --trusted-root accepts a keyless bundle from the private CA + TSA', async () => {
    const r = await verify('good.sigstore.json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Verified OK/);
    assert.match(r.stderr, /RFC 3161 timestamp/);
  });

  it('…and refuses one from another CA (exit 1)', async () => {
    const r = await verify('foreign.sigstore.json');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /certificate path/);
  });
});

describe('airlock trust create: usage and input errors', () => {
  const cases: Array<[string, () => string[], number, RegExp]> = [
    [
      'a spec without start-time',
      () => ['trust', 'create', `--rekor=url=https://rekor.internal,public-key=${p('rekor.pub')}`],
      2,
      /needs start-time \[E_USAGE\]/,
    ],
    ['an unknown spec key', () => ['trust', 'create', fulcio(',colour=blue')], 2, /unknown key 'colour' \[E_USAGE\]/],
    [
      'a time that is not RFC 3339',
      () => ['trust', 'create', `--ctfe=url=https://c,public-key=${p('ctfe.pub')},start-time=yesterday`],
      2,
      /not an RFC 3339 time/,
    ],
    ['no service at all', () => ['trust', 'create', '--out', p('empty.json')], 2, /nothing to put in the trusted root/],
    ['an unknown media type', () => ['trust', 'create', '--media-type', 'v9', rekor()], 2, /--media-type/],
    [
      'operator with v0.1',
      () => ['trust', 'create', rekor(',operator=internal.example')],
      2,
      /operator needs media type v0\.2/,
    ],
    [
      'a chain in the wrong order',
      () => ['trust', 'create', tsaSpec(p('tsa-reversed.pem'))],
      3,
      /not issued by certificate 2 \[E_INPUT_MALFORMED\]/,
    ],
    [
      'a missing key file',
      () => ['trust', 'create', `--ctfe=url=https://c,public-key=${p('nope.pub')},start-time=${start}`],
      3,
      /E_INPUT_MISSING/,
    ],
    ['show without a file', () => ['trust', 'show'], 2, /E_USAGE/],
    ['show of a file that is not a trusted root', () => ['trust', 'show', p('fulcio.pem')], 1, /E_TRUST_ROOT/],
  ];
  for (const [name, argv, code, pattern] of cases) {
    it(`${name} → exit ${code}`, async () => {
      const r = await cli(argv());
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
    });
  }

  it('v0.2 writes checkpointKeyId and operator, and warns that cosign reads only v0.1', async () => {
    const r = await cli([
      'trust',
      'create',
      '--media-type',
      'v0.2',
      '--out',
      p('v02.json'),
      rekor(',operator=internal.example'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: media type v0\.2/);
    const json = JSON.parse(await readFile(p('v02.json'), 'utf8'));
    assert.equal(json.mediaType, 'application/vnd.dev.sigstore.trustedroot.v0.2+json');
    assert.deepEqual(json.tlogs[0].checkpointKeyId, json.tlogs[0].logId);
    assert.equal(json.tlogs[0].operator, 'internal.example');
  });
});

describe('airlock trust create --fulcio url=: the chain from the running CA', () => {
  let server: Server;
  let base: string;
  let chains: string[][] = [];
  before(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/api/v2/trustBundle') return void res.writeHead(404).end();
      const body = { chains: chains.map((certificates) => ({ certificates })) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const fetched = (extra = '') => `--fulcio=url=${base},start-time=${start}${extra}`;
  const verifyNoCtlog = (...extra: string[]) => verifyKeyless('good.sigstore.json', 'fetched.json', ...extra);

  it('fetches /api/v2/trustBundle, prints the root fingerprint, and the root verifies the CA’s bundles', async () => {
    chains = [[ca.rootPem]];
    const r = await cli(['trust', 'create', '--out', p('fetched.json'), fetched(), tsaSpec()]);
    assert.equal(r.code, 0, r.stderr);
    const fingerprint = new X509Certificate(ca.rootPem).fingerprint256;
    assert.ok(r.stderr.includes(`root fingerprint SHA256:${fingerprint}`), r.stderr);
    assert.match(r.stderr, /warning: .* plain http/);
    const json = JSON.parse(await readFile(p('fetched.json'), 'utf8'));
    assert.equal(json.certificateAuthorities[0].certChain.certificates[0].rawBytes, ca.rootDer.toString('base64'));
    assert.equal(json.certificateAuthorities[0].uri, base);
    assert.deepEqual(json.ctlogs, []);
  });

  it('a root with no CT log: keyless verification says so and how to drop SCTs, then passes', async () => {
    const refused = await verifyNoCtlog('--json');
    assert.equal(refused.code, 1, refused.stderr);
    const error = JSON.parse(refused.stdout).error;
    assert.equal(error.code, 'E_TRUST_ROOT');
    assert.match(error.message, /has no Certificate Transparency log/);
    assert.match(error.hint, /--ctlog-threshold 0/);
    const ok = await verifyNoCtlog('--ctlog-threshold', '0');
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('several chains need chain=N; a CA out of reach is exit 3; chain= with a file is a usage error', async () => {
    chains = [[ca.rootPem], [otherCa.rootPem]];
    const two = await cli(['trust', 'create', fetched()]);
    assert.equal(two.code, 2, two.stderr);
    assert.match(two.stderr, /serves 2 certificate chains .*chain=N \[E_USAGE\]/);
    const picked = await cli(['trust', 'create', '--json', fetched(',chain=2')]);
    assert.equal(picked.code, 0, picked.stderr);
    const doc = JSON.parse(picked.stdout);
    assert.equal(doc.trustedRoot.certificateAuthorities[0].certChain.certificates.length, 1);
    assert.equal(doc.fetchedChains[0].fingerprint, `SHA256:${new X509Certificate(otherCa.rootPem).fingerprint256}`);
    const down = await cli(['trust', 'create', `--fulcio=url=http://127.0.0.1:1,start-time=${start}`]);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /trustBundle.*\[E_UNAVAILABLE\]/);
    const both = await cli(['trust', 'create', fulcio(',chain=1')]);
    assert.equal(both.code, 2, both.stderr);
    const neither = await cli(['trust', 'create', `--fulcio=start-time=${start}`]);
    assert.match(neither.stderr, /needs certificate-chain=FILE, or url= of the running CA \[E_USAGE\]/);
  });
});
