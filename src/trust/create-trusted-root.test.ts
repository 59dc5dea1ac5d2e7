// createTrustedRoot: log IDs against independent computations and published vectors, the input rules
// (start times, chain order), and a root made from a private CA + TSA that verifies a keyless bundle.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { bundleToJSON, toMessageSignatureBundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import { createPrivateCa, type PrivateCa } from '../../test/helpers/private-ca.ts';
import { sharedMissing, TUF_FIXTURES_DIR } from '../../test/helpers/shared.ts';
import { startTestTsa, type TestTsa } from '../../test/helpers/tsa.ts';
import { encodePem } from '../crypto/pem.ts';
import { parseTrustedRoot } from '../sigstore/trusted-root.ts';
import { requestTimestamp } from '../sigstore/tsa.ts';
import { verifyBlob } from '../sigstore/verify/verify-blob.ts';
import { type CaInput, checkpointKeyId, createTrustedRoot, type LogInput } from './create-trusted-root.ts';
import { summariseTrustedRoot } from './trusted-root-summary.ts';

const HOUR = 3_600_000;
const start = new Date('2026-01-01T00:00:00Z');
const pemOf = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const spkiOf = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const sha256 = (...parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const keyFromSpkiB64 = (b64: string) =>
  createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });
const log = (key: KeyObject, extra: Partial<LogInput> = {}): LogInput => ({
  publicKeyPem: pemOf(key),
  baseUrl: 'https://rekor.internal',
  validFor: { start },
  ...extra,
});
const quiet = { warn: () => undefined };

describe('log IDs', () => {
  it('ECDSA P-256 (Rekor v1, CT): SHA-256 of the DER SPKI, RFC 6962 §3.2', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const root = createTrustedRoot(
      { tlogs: [log(key)], ctlogs: [log(key, { baseUrl: 'https://ct.internal' })] },
      quiet,
    );
    const expected = sha256(spkiOf(key)).toString('base64');
    assert.equal(root.tlogs[0]?.logId.keyId, expected);
    assert.equal(root.ctlogs[0]?.logId.keyId, expected);
    assert.equal(root.tlogs[0]?.publicKey.keyDetails, 'PKIX_ECDSA_P256_SHA_256');
    assert.equal(root.tlogs[0]?.publicKey.rawBytes, spkiOf(key).toString('base64'));
    assert.equal(root.tlogs[0]?.checkpointKeyId, undefined, 'v0.1 has no checkpointKeyId');
  });

  it(
    'Ed25519 with an origin (Rekor v2): the C2SP signed-note key hash SHA-256(origin ‖ "\\n" ‖ ' + '0x01 ‖ raw key)',
    () => {
      const key = generateKeyPairSync('ed25519').publicKey;
      const spki = spkiOf(key);
      // Independent of the implementation: the raw key is the BIT STRING at the end of the 44-byte SPKI.
      assert.equal(spki.length, 44);
      const expected = sha256(Buffer.from('rekor.internal\n'), Uint8Array.of(1), spki.subarray(12));
      const root = createTrustedRoot({ tlogs: [log(key, { origin: 'rekor.internal' })] }, quiet);
      assert.equal(root.tlogs[0]?.logId.keyId, expected.toString('base64'));
      assert.equal(root.tlogs[0]?.publicKey.keyDetails, 'PKIX_ED25519');
      assert.notEqual(root.tlogs[0]?.logId.keyId, sha256(spki).toString('base64'));
    },
  );

  it('matches published vectors: rekor-tiles "rekor-local" and production log2025-1 / rekor.sigstore.dev', () => {
    // design/notes/tlog-anchors.md §2.8 (rekor-tiles CLIENTS.md) and §2.3 (the production trusted_root.json).
    const vectors = [
      [
        'MCowBQYDK2VwAyEAREvJyNZGjX6B3DAIuD3BTg9rIwV00GY8Xg5FU+IFDUQ=',
        'rekor-local',
        '2AtEIMfG6Y41yK0tcwRTBS2tjhOrjKGIpDkHFgp65g0=',
      ],
      [
        'MCowBQYDK2VwAyEAt8rlp1knGwjfbcXAYPYAkn0XiLz1x8O4t0YkEhie244=',
        'log2025-1.rekor.sigstore.dev',
        'zxGZFVvd0FEmjR8WrFwMdcAJ9vtaY/QXf44Y1wUeP6A=',
      ],
    ] as const;
    for (const [spki, origin, logId] of vectors) {
      assert.equal(checkpointKeyId(origin, keyFromSpkiB64(spki)).toString('base64'), logId);
    }
    const rekorV1 = keyFromSpkiB64(
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbm' +
        'LSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==',
    );
    const root = createTrustedRoot({
      tlogs: [
        log(rekorV1, { baseUrl: 'https://rekor.sigstore.dev', validFor: { start: new Date('2021-01-12T11:53:27Z') } }),
      ],
    });
    assert.equal(root.tlogs[0]?.logId.keyId, 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=');
    assert.equal(root.tlogs[0]?.publicKey.validFor.start, '2021-01-12T11:53:27Z');
  });

  it('v0.2 also sets checkpointKeyId (= log ID) and operator; v0.1 refuses an operator', () => {
    const key = generateKeyPairSync('ed25519').publicKey;
    const warnings: string[] = [];
    const root = createTrustedRoot(
      { mediaType: 'v0.2', tlogs: [log(key, { origin: 'rekor.internal', operator: 'internal.example' })] },
      { warn: (m) => warnings.push(m) },
    );
    assert.equal(root.mediaType, 'application/vnd.dev.sigstore.trustedroot.v0.2+json');
    assert.deepEqual(root.tlogs[0]?.checkpointKeyId, root.tlogs[0]?.logId);
    assert.equal(root.tlogs[0]?.operator, 'internal.example');
    assert.ok(
      warnings.some((w) => /only v0\.1/.test(w)),
      'warns that cosign refuses v0.2',
    );
    assert.throws(() => createTrustedRoot({ tlogs: [log(key, { origin: 'rekor.internal', operator: 'x' })] }, quiet), {
      code: 'E_USAGE',
    });
  });

  it('RSA log keys are written as PKCS1_RSA_PKCS1V5 (what @sigstore/verify can load), ID still over the SPKI', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const root = createTrustedRoot({ ctlogs: [log(key, { baseUrl: 'https://ct.internal' })] });
    assert.equal(root.ctlogs[0]?.publicKey.keyDetails, 'PKCS1_RSA_PKCS1V5');
    assert.equal(root.ctlogs[0]?.logId.keyId, sha256(spkiOf(key)).toString('base64'));
    assert.equal(toTrustMaterial(TrustedRoot.fromJSON(root)).ctlogs[0]?.publicKey.asymmetricKeyType, 'rsa');
  });

  it('warns about an Ed25519 tlog without origin and an origin that is not the URL host', () => {
    const key = generateKeyPairSync('ed25519').publicKey;
    const warnings: string[] = [];
    createTrustedRoot({ tlogs: [log(key)] }, { warn: (m) => warnings.push(m) });
    createTrustedRoot({ tlogs: [log(key, { origin: 'elsewhere.internal' })] }, { warn: (m) => warnings.push(m) });
    assert.match(warnings[0] ?? '', /without origin/);
    assert.match(warnings[1] ?? '', /not the host name/);
    assert.throws(() => createTrustedRoot({ tlogs: [log(key, { origin: 'a b' })] }), { code: 'E_USAGE' });
    assert.throws(() => createTrustedRoot({ ctlogs: [log(key, { origin: 'rekor.internal' })] }), { code: 'E_USAGE' });
  });
});

describe('input rules', () => {
  let tsa: TestTsa;
  let ca: PrivateCa;
  before(async () => {
    [tsa, ca] = await Promise.all([startTestTsa(), createPrivateCa()]);
  });
  after(async () => {
    await tsa?.stop();
    await ca?.cleanup();
  });

  it('every key and CA needs validFor.start', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const noStart = { validFor: {} as { start: Date } };
    assert.throws(() => createTrustedRoot({ tlogs: [log(key, noStart)] }), {
      code: 'E_USAGE',
      message: /validFor\.start/,
    });
    assert.throws(() => createTrustedRoot({ ctlogs: [log(key, noStart)] }), { code: 'E_USAGE' });
    assert.throws(() => createTrustedRoot({ certificateAuthorities: [{ certChainPem: ca.rootPem, ...noStart }] }), {
      code: 'E_USAGE',
    });
    assert.throws(
      () => createTrustedRoot({ timestampAuthorities: [{ certChainPem: tsa.chainPem.join(''), ...noStart }] }),
      { code: 'E_USAGE' },
    );
    assert.throws(
      () => createTrustedRoot({ tlogs: [log(key, { validFor: { start, end: new Date(start.getTime() - 1) } })] }),
      { code: 'E_USAGE' },
    );
  });

  it(
    'a chain in the wrong order (root first) is refused, and so is a CA chain holding a signing ' + 'certificate',
    async () => {
      const reversed: CaInput = { certChainPem: [tsa.rootPem, tsa.leafPem].join(''), validFor: { start } };
      assert.throws(() => createTrustedRoot({ timestampAuthorities: [reversed] }), {
        code: 'E_INPUT_MALFORMED',
        message: /not issued by certificate 2/,
      });
      const leafOnly: CaInput = { certChainPem: tsa.leafPem, validFor: { start } };
      assert.throws(() => createTrustedRoot({ timestampAuthorities: [leafOnly] }), {
        code: 'E_INPUT_MALFORMED',
        message: /not self-signed/,
      });
      const leaf = await ca.issueLeaf({ san: 'https://x.example/id', issuer: 'https://issuer.example' });
      assert.throws(
        () =>
          createTrustedRoot({
            certificateAuthorities: [{ certChainPem: leaf.certPem + ca.rootPem, validFor: { start } }],
          }),
        {
          code: 'E_INPUT_MALFORMED',
          message: /must be a CA certificate/,
        },
      );
      assert.throws(
        () => createTrustedRoot({ certificateAuthorities: [{ certChainPem: 'not pem', validFor: { start } }] }),
        { code: 'E_INPUT_MALFORMED' },
      );
    },
  );

  it(
    'round-trips through TrustedRoot.fromJSON/toJSON, parseTrustedRoot and toTrustMaterial; ' +
      'subjects from the root certificate',
    () => {
      const key = generateKeyPairSync('ed25519').publicKey;
      const json = createTrustedRoot(
        {
          certificateAuthorities: [{ certChainPem: ca.rootPem, uri: 'https://fulcio.internal', validFor: { start } }],
          timestampAuthorities: [
            {
              certChainPem: tsa.chainPem.join(''),
              uri: tsa.url,
              validFor: { start, end: new Date(start.getTime() + HOUR) },
            },
          ],
          tlogs: [log(key, { origin: 'rekor.internal' })],
        },
        quiet,
      );
      const proto = TrustedRoot.fromJSON(json);
      assert.deepEqual(TrustedRoot.fromJSON(TrustedRoot.toJSON(proto)), proto);
      assert.equal(proto.tlogs[0]?.publicKey?.validFor?.start?.toISOString(), start.toISOString());
      assert.doesNotThrow(() => toTrustMaterial(parseTrustedRoot(Buffer.from(JSON.stringify(json)), 'r').root));
      assert.deepEqual(json.certificateAuthorities[0]?.subject, {
        organization: 'airlock test',
        commonName: 'airlock test CA',
      });
      assert.deepEqual(json.timestampAuthorities[0]?.subject, {
        organization: 'airlock test',
        commonName: 'airlock test TSA root',
      });
      assert.equal(json.timestampAuthorities[0]?.certChain.certificates.length, 2);
      const summary = summariseTrustedRoot(proto);
      assert.deepEqual(summary.problems, []);
      assert.equal(summary.tlogs[0]?.logIdRule, 'c2sp-checkpoint');
      assert.equal(summary.tlogs[0]?.origin, 'rekor.internal');
      assert.equal(summary.tlogs[0]?.keyType, 'Ed25519');
      assert.equal(summary.timestampAuthorities[0]?.chainLength, 2);
    },
  );
});

describe('the production Sigstore trusted root, rebuilt from its keys and certificates', () => {
  const dir = `${TUF_FIXTURES_DIR}targets/`;
  it('comes out identical, field for field', (t) => {
    const missing = sharedMissing(dir);
    if (missing) return t.skip(missing);
    const file = readdirSync(dir).find((f) => f.endsWith('.trusted_root.json')) ?? '';
    const production = JSON.parse(readFileSync(`${dir}${file}`, 'utf8'));
    type Range = { start: string; end?: string };
    const range = (v: Range) => ({ start: new Date(v.start), ...(v.end ? { end: new Date(v.end) } : {}) });
    const chain = (ca: { certChain: { certificates: Array<{ rawBytes: string }> } }) =>
      ca.certChain.certificates.map((c) => encodePem('CERTIFICATE', Buffer.from(c.rawBytes, 'base64'))).join('');
    const authority = (ca: {
      uri: string;
      validFor: Range;
      certChain: { certificates: Array<{ rawBytes: string }> };
    }): CaInput => ({
      certChainPem: chain(ca),
      uri: ca.uri,
      validFor: range(ca.validFor),
    });
    const logOf = (l: {
      baseUrl: string;
      publicKey: { rawBytes: string; keyDetails: string; validFor: Range };
    }): LogInput => ({
      publicKeyPem: encodePem('PUBLIC KEY', Buffer.from(l.publicKey.rawBytes, 'base64')),
      baseUrl: l.baseUrl,
      validFor: range(l.publicKey.validFor),
      // Rekor v2 logs are named by their host (tlog-anchors.md §0.4).
      ...(l.publicKey.keyDetails === 'PKIX_ED25519' ? { origin: new URL(l.baseUrl).hostname } : {}),
    });
    const warnings: string[] = [];
    const rebuilt = createTrustedRoot(
      {
        certificateAuthorities: production.certificateAuthorities.map(authority),
        timestampAuthorities: production.timestampAuthorities.map(authority),
        tlogs: production.tlogs.map(logOf),
        ctlogs: production.ctlogs.map(logOf),
      },
      { warn: (m) => warnings.push(m) },
    );
    assert.deepEqual(rebuilt, production);
    assert.deepEqual(warnings, []);
  });
});

describe('end to end: a private CA + TSA root verifies a keyless bundle', () => {
  const SAN = 'https://ci.internal/org/app/.github/workflows/release.yml@refs/heads/main';
  const ISSUER = 'https://token.ci.internal';
  const artifact = Buffer.from('the artifact\n');
  let ca: PrivateCa;
  let otherCa: PrivateCa;
  let tsa: TestTsa;

  before(async () => {
    [ca, otherCa, tsa] = await Promise.all([createPrivateCa(), createPrivateCa('another CA'), startTestTsa()]);
  });
  after(async () => {
    await tsa?.stop();
    await ca?.cleanup();
    await otherCa?.cleanup();
  });

  async function keylessBundle(from: PrivateCa): Promise<unknown> {
    const leaf = await from.issueLeaf({ san: SAN, issuer: ISSUER });
    const signature = sign('sha256', artifact, leaf.privateKey);
    const bundle = toMessageSignatureBundle({ digest: sha256(artifact), signature, certificate: leaf.certDer });
    bundle.verificationMaterial.timestampVerificationData = {
      rfc3161Timestamps: [{ signedTimestamp: Buffer.from(await requestTimestamp(signature, { url: tsa.url })) }],
    };
    return bundleToJSON(bundle);
  }

  it('verifies a bundle from the CA, and refuses one from another CA', async () => {
    const validFrom = new Date(Date.now() - HOUR);
    const json = createTrustedRoot(
      {
        certificateAuthorities: [
          { certChainPem: ca.rootPem, uri: 'https://fulcio.internal', validFor: { start: validFrom } },
        ],
        tlogs: [
          log(generateKeyPairSync('ed25519').publicKey, { origin: 'rekor.internal', validFor: { start: validFrom } }),
        ],
        timestampAuthorities: [{ certChainPem: tsa.chainPem.join(''), uri: tsa.url, validFor: { start: validFrom } }],
      },
      quiet,
    );
    const options = {
      now: new Date(),
      trust: { kind: 'identity' as const, policy: { identity: { exact: SAN }, issuer: { exact: ISSUER } } },
      trustedRoot: parseTrustedRoot(Buffer.from(JSON.stringify(json)), 'created root'),
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 1,
    };
    const good = await verifyBlob({ bytes: artifact }, { json: await keylessBundle(ca) }, options);
    assert.equal(good.ok, true, good.error?.message);
    assert.equal(good.timestamps?.[0]?.source, 'tsa');
    const foreign = await verifyBlob({ bytes: artifact }, { json: await keylessBundle(otherCa) }, options);
    assert.equal(foreign.ok, false);
    // "no valid certificate path found": error-map.ts reads the word "valid" as E_CERT_VALIDITY today.
    assert.match(foreign.error?.code ?? '', /^E_CERT_(CHAIN|VALIDITY)$/, foreign.error?.message);
    assert.match(foreign.error?.message ?? '', /certificate path/);
  });
});

describe('pitfall 7: an intermediate restricting EKUs without codeSigning', () => {
  const run = promisify(execFile);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-eku-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A root and an intermediate under it with `eku` (none: no EKU extension), by the openssl CLI. */
  async function chainWith(name: string, eku?: string): Promise<string> {
    const file = (f: string) => join(dir, `${name}-${f}`);
    const ca = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'];
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('root.key')]);
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('int.key')]);
    await run(
      'openssl',
      ['req', '-x509', '-new', '-key', file('root.key'), '-out', file('root.pem')].concat([
        '-days',
        '30',
        '-subj',
        `/O=airlock test/CN=${name} root`,
        ...ca,
      ]),
    );
    await run(
      'openssl',
      ['req', '-new', '-key', file('int.key'), '-out', file('int.csr')].concat([
        '-subj',
        `/O=airlock test/CN=${name} intermediate`,
      ]),
    );
    const ext = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'];
    if (eku) ext.push(`extendedKeyUsage=${eku}`);
    await writeFile(file('int.ext'), ext.join('\n'));
    await run(
      'openssl',
      ['x509', '-req', '-in', file('int.csr'), '-CA', file('root.pem'), '-CAkey', file('root.key')].concat([
        '-days',
        '30',
        '-set_serial',
        '2',
        '-extfile',
        file('int.ext'),
        '-out',
        file('int.pem'),
      ]),
    );
    return (await readFile(file('int.pem'), 'utf8')) + (await readFile(file('root.pem'), 'utf8'));
  }

  it('warns (cosign refuses what it issues) for serverAuth only; not for codeSigning or no EKU', async () => {
    const warnings = async (name: string, eku?: string) => {
      const said: string[] = [];
      const input = { certChainPem: await chainWith(name, eku), uri: 'https://ca.internal', validFor: { start } };
      createTrustedRoot({ certificateAuthorities: [input] }, { warn: (m) => said.push(m) });
      return said;
    };
    const [serverAuth] = await warnings('server', 'serverAuth');
    assert.match(serverAuth ?? '', /certificate 1 \(.*server intermediate.*\) restricts extended key usage/);
    assert.deepEqual(await warnings('signing', 'codeSigning'), []);
    assert.deepEqual(await warnings('open'), []);
  });
});
