// `airlock trust create` → `trust show` → `verify-blob --trusted-root` as an operator of a private
// Sigstore deployment runs them: PEM files in, a trusted_root.json out that verifies a keyless bundle
// from the private CA + TSA and refuses one from another CA; and the usage errors with exit codes.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
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

  const verify = (bundle: string) =>
    cli([
      'verify-blob',
      p('app.txt'),
      '--bundle',
      p(bundle),
      '--trusted-root',
      p('root.json'),
      '--certificate-identity',
      SAN,
      '--certificate-oidc-issuer',
      ISSUER,
      '--tlog-threshold',
      '0',
      '--ctlog-threshold',
      '0',
    ]);

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
