// loadIssuingCa on chain files and key references: the checks that stop a CA from issuing certificates
// verifiers would refuse, and a CA key inside SoftHSM2 reached through a pkcs11: URI.
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { airlockRejection, issueTestLeaf, makeTestCa, openssl, opensslVerify } from '../../test/helpers/airlock-ca.ts';
import { createSoftHsmToken, type SoftHsmToken, softHsmMissing } from '../../test/helpers/softhsm.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import type { KeyContext } from '../crypto/key-ref.ts';
import { loadSigner } from '../crypto/key-ref.ts';
import { createCaCertificate } from './ca-certificate.ts';
import { loadIssuingCa } from './issuing-ca.ts';

const dir = useTempDir('airlock-issuing-ca-');
const NOW = new Date();

function keyContext(env: Record<string, string | undefined> = {}): KeyContext {
  return { env, password: () => Promise.reject(new Error('no password expected')), warn: () => undefined };
}

let files = 0;
async function file(contents: string): Promise<string> {
  const path = join(dir, `f${files++}`);
  await writeFile(path, contents, { mode: 0o600 });
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  return (await airlockRejection(promise)).code;
}

/** A CA whose key is also in a file. */
async function caWithKeyFile(options: Parameters<typeof makeTestCa>[0] = {}) {
  const ca = await makeTestCa({ now: NOW, ...options });
  return { ca, keyPath: await file(ca.privateKeyPem), chainPath: await file(ca.chainPem.join('')) };
}

describe('loadIssuingCa', () => {
  it('loads a root, or an intermediate with its root, whose key matches, and issues under it', async () => {
    for (const intermediate of [undefined, 'P-256'] as const) {
      const { ca, keyPath, chainPath } = await caWithKeyFile({
        root: 'P-384',
        ...(intermediate ? { intermediate } : {}),
      });
      const loaded = await loadIssuingCa(keyPath, chainPath, keyContext(), NOW);
      assert.deepEqual(loaded.chainPem, ca.chainPem);
      assert.equal(loaded.certificate.fingerprint256, ca.certificate.fingerprint256);
      const leaf = await issueTestLeaf(loaded, NOW);
      assert.match(await opensslVerify(dir, leaf.pem, loaded.chainPem), /: OK\n$/);
      await loaded.signer.close();
    }
  });

  it("refuses a key that is not the first certificate's (E_KEY_MISMATCH)", async () => {
    const { chainPath } = await caWithKeyFile();
    const other = await caWithKeyFile();
    assert.equal(await rejection(loadIssuingCa(other.keyPath, chainPath, keyContext(), NOW)), 'E_KEY_MISMATCH');
  });

  it('refuses a chain out of order, one that is not PEM certificates, or one with a non-CA', async () => {
    const { ca, keyPath } = await caWithKeyFile({ intermediate: 'P-256' });
    const reversed = await file([...ca.chainPem].reverse().join(''));
    assert.equal(await rejection(loadIssuingCa(keyPath, reversed, keyContext(), NOW)), 'E_INPUT_MALFORMED');
    const noRoot = await file(ca.chainPem[0] as string);
    assert.equal(await rejection(loadIssuingCa(keyPath, noRoot, keyContext(), NOW)), 'E_INPUT_MALFORMED');
    const notPem = await file('not a certificate');
    assert.equal(await rejection(loadIssuingCa(keyPath, notPem, keyContext(), NOW)), 'E_INPUT_MALFORMED');
    const leaf = await issueTestLeaf(ca, NOW);
    const withLeaf = await file([leaf.pem, ...ca.chainPem].join(''));
    assert.equal(await rejection(loadIssuingCa(keyPath, withLeaf, keyContext(), NOW)), 'E_INPUT_MALFORMED');
  });

  it('refuses an intermediate whose extended key usage leaves out codeSigning', async () => {
    const { ca, keyPath } = await caWithKeyFile();
    const key = join(dir, 'eku.key');
    const csr = join(dir, 'eku.csr');
    const out = join(dir, 'eku.pem');
    const ext = await file(
      'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nextendedKeyUsage=serverAuth\n' +
        'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
    );
    const rootFile = await file(ca.rootPem);
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    await openssl(['req', '-new', '-key', key, '-subj', '/CN=server intermediate', '-out', csr]);
    await openssl([
      ...['x509', '-req', '-in', csr, '-CA', rootFile, '-CAkey', keyPath, '-days', '1'],
      ...['-set_serial', '7', '-extfile', ext, '-out', out],
    ]);
    const chain = await file(`${await readFile(out, 'utf8')}${ca.rootPem}`);
    const err = await airlockRejection(loadIssuingCa(key, chain, keyContext(), NOW));
    assert.equal(err.code, 'E_INPUT_MALFORMED');
    assert.match(err.message, /extended key usage without codeSigning/);
  });

  it('refuses a CA that is not valid at `now` (E_CERT_VALIDITY), with a hint', async () => {
    const { ca, keyPath, chainPath } = await caWithKeyFile();
    const later = new Date(ca.certificate.validToDate.getTime() + 1000);
    const err = await airlockRejection(loadIssuingCa(keyPath, chainPath, keyContext(), later));
    assert.equal(err.code, 'E_CERT_VALIDITY');
    assert.match(err.hint ?? '', /airlock ca init/);
    const earlier = new Date(NOW.getTime() - 60_000);
    assert.equal(await rejection(loadIssuingCa(keyPath, chainPath, keyContext(), earlier)), 'E_CERT_VALIDITY');
  });
});

const missing = softHsmMissing();

describe('loadIssuingCa with the CA key in SoftHSM2', { skip: missing && `softhsm2 not installed: ${missing}` }, () => {
  const PIN = '2468-ca';
  let hsm: SoftHsmToken;
  let savedConf: string | undefined;

  before(async () => {
    hsm = await createSoftHsmToken({ label: 'airlock-ca', pin: PIN });
    // SoftHSM reads its configuration from the environment of the process that loads the module.
    savedConf = process.env.SOFTHSM2_CONF;
    process.env.SOFTHSM2_CONF = hsm.confPath;
    await hsm.generateEcKey('ca', '01', 'P-384');
    await hsm.generateRsaKey('rsa-ca', '03', 2048);
  });
  after(async () => {
    if (savedConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = savedConf;
    await hsm?.cleanup();
  });

  for (const [object, algorithm] of [
    ['ca', 'ecdsa-with-SHA384'],
    ['rsa-ca', 'sha256WithRSAEncryption'],
  ]) {
    it(`a root with the token key ${object} issues a leaf (${algorithm}) that openssl verifies`, async () => {
      const uri = `pkcs11:token=airlock-ca;object=${object}`;
      const ctx = keyContext({ AIRLOCK_PKCS11_MODULE: hsm.modulePath, AIRLOCK_PKCS11_PIN: PIN });
      const signer = await loadSigner(uri, ctx);
      const rootPem = await createCaCertificate({
        signer,
        subject: 'O=airlock test,CN=hsm root',
        validityDays: 30,
        now: NOW,
        serial: randomBytes(20),
      }).finally(() => signer.close());
      const ca = await loadIssuingCa(uri, await file(rootPem), ctx, NOW);
      try {
        const leaf = await issueTestLeaf(ca, NOW);
        assert.equal(new X509Certificate(leaf.der).issuer, 'O=airlock test\nCN=hsm root');
        assert.match(await opensslVerify(dir, leaf.pem, ca.chainPem), /: OK\n$/);
        const text = await openssl(['x509', '-noout', '-text', '-in', await file(leaf.pem)]);
        assert.match(text, new RegExp(`Signature Algorithm: ${algorithm}`));
      } finally {
        await ca.signer.close();
      }
    });
  }

  it("refuses a token key that is not the chain's", async () => {
    await hsm.generateEcKey('other', '02', 'P-256');
    const ca = await makeTestCa({ now: NOW });
    const ctx = keyContext({ AIRLOCK_PKCS11_MODULE: hsm.modulePath, AIRLOCK_PKCS11_PIN: PIN });
    const uri = 'pkcs11:token=airlock-ca;object=other';
    assert.equal(await rejection(loadIssuingCa(uri, await file(ca.chainPem.join('')), ctx, NOW)), 'E_KEY_MISMATCH');
  });
});
