// Signs for real on a SoftHSM2 token provisioned by softhsm2-util and pkcs11-tool, and verifies every
// signature with node:crypto, so the whole path (URI, module, login, key lookup, encodings) is covered.
import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type AirlockError, isAirlockError } from '../errors.ts';
import { createSoftHsmToken, type SoftHsmToken, softHsmMissing } from '../../test/helpers/softhsm.ts';
import { openPkcs11Signer, type Pkcs11SignerOptions } from './pkcs11-signer.ts';
import { parsePkcs11Uri } from './pkcs11-uri.ts';
import type { Signer } from './signer.ts';

const PIN = '4711-s3cret';
const missing = softHsmMissing();
const data = Buffer.from('airlock: the bytes that cross the air gap\n');

describe('openPkcs11Signer on SoftHSM2', { skip: missing && `softhsm2 not installed: ${missing}` }, () => {
  let hsm: SoftHsmToken;
  let savedConf: string | undefined;

  before(async () => {
    hsm = await createSoftHsmToken({ label: 'airlock-test', pin: PIN });
    // SoftHSM reads its configuration from the environment of the process that loads the module.
    savedConf = process.env.SOFTHSM2_CONF;
    process.env.SOFTHSM2_CONF = hsm.confPath;
    await hsm.generateEcKey('signer', '01', 'P-256');
    await hsm.generateEcKey('signer-384', '02', 'P-384');
    await hsm.generateRsaKey('rsa', '03', 2048);
    await hsm.generateEcKey('orphan', '04', 'P-256');
    await hsm.deletePublicKey('orphan');
    await hsm.generateEcKey('piv-like', '05', 'P-256', { alwaysAuth: true });
  });
  after(async () => {
    if (savedConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = savedConf;
    await hsm?.cleanup();
  });

  const open = (
    path: string,
    query = `pin-value=${PIN}&module-path=${hsm.modulePath}`,
    options: Pkcs11SignerOptions = {},
  ) => openPkcs11Signer(parsePkcs11Uri(`pkcs11:${path}${query ? `?${query}` : ''}`), options);

  async function withSigner<T>(signer: Signer, use: (s: Signer) => Promise<T>): Promise<T> {
    try {
      return await use(signer);
    } finally {
      await signer.close();
    }
  }

  /** Rejects with E_PKCS11, never revealing the PIN; returns the error for further checks. */
  async function rejectsPkcs11(promise: Promise<unknown>): Promise<AirlockError> {
    const err = await promise.then(
      () => assert.fail('expected E_PKCS11'),
      (e: unknown) => e,
    );
    assert.ok(isAirlockError(err, 'E_PKCS11'), `expected E_PKCS11, got ${String(err)}`);
    assert.ok(!JSON.stringify(err.toJSON()).includes(PIN), 'the PIN leaked into the error');
    assert.ok(!inspect(err, { depth: 10 }).includes(PIN), 'the PIN leaked into the error or its cause');
    return err;
  }

  it('signs with a P-256 key: DER signatures that node:crypto verifies, over data and over a digest', async () => {
    await withSigner(await open(`token=${hsm.tokenLabel};object=signer`), async (signer) => {
      assert.equal(signer.algorithm, 'ecdsa-sha2-256-nistp256');
      assert.equal(signer.description, 'pkcs11 token "airlock-test" object "signer"');
      assert.equal(signer.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      const sig = await signer.sign(data);
      assert.equal(sig[0], 0x30, 'ASN.1 DER SEQUENCE');
      assert.ok(verify('sha256', data, signer.publicKey, sig));
      assert.ok(signer.signDigest);
      const fromDigest = await signer.signDigest(createHash('sha256').update(data).digest());
      assert.ok(verify('sha256', data, signer.publicKey, fromDigest));
      assert.ok(!verify('sha256', Buffer.from('other'), signer.publicKey, sig));
      await assert.rejects(signer.signDigest(createHash('sha384').update(data).digest()), (e) =>
        isAirlockError(e, 'E_INTERNAL'),
      );
    });
  });

  it('exposes the same public key pkcs11-tool exports', async () => {
    await withSigner(await open(`token=${hsm.tokenLabel};object=signer`), async (signer) => {
      const exported = await hsm.readPublicKeyDer('signer');
      assert.deepEqual(signer.publicKey.export({ type: 'spki', format: 'der' }), exported);
    });
  });

  it('signs with a P-384 key named by id only', async () => {
    await withSigner(await open(`token=${hsm.tokenLabel};id=%02`), async (signer) => {
      assert.equal(signer.algorithm, 'ecdsa-sha2-384-nistp384');
      assert.equal(signer.description, 'pkcs11 token "airlock-test" id 02');
      assert.ok(verify('sha384', data, signer.publicKey, await signer.sign(data)));
      const digest = createHash('sha384').update(data).digest();
      assert.ok(verify('sha384', data, signer.publicKey, await signer.signDigest!(digest)));
    });
  });

  it('signs with an RSA-2048 key (PKCS#1 v1.5, SHA-256, no digest signing)', async () => {
    await withSigner(await open(`token=${hsm.tokenLabel};object=rsa;type=private`), async (signer) => {
      assert.equal(signer.algorithm, 'rsa-sign-pkcs1-2048-sha256');
      assert.equal(signer.signDigest, undefined);
      const sig = await signer.sign(data);
      assert.equal(sig.length, 256);
      assert.ok(verify('sha256', data, signer.publicKey, sig));
      assert.deepEqual(signer.publicKey.export({ type: 'spki', format: 'der' }), await hsm.readPublicKeyDer('rsa'));
    });
  });

  it('finds the token by serial and the module from options.modulePath', async () => {
    const signer = await open('serial=nope;object=signer', `pin-value=${PIN}`, { modulePath: hsm.modulePath }).catch(
      (e: unknown) => e,
    );
    assert.ok(isAirlockError(signer, 'E_PKCS11'));
    assert.match(signer.hint ?? '', /"airlock-test" \(serial [0-9a-f]+, slot-id \d+\)/);
    const serial = /serial ([0-9a-f]+)/.exec(signer.hint ?? '')?.[1];
    await withSigner(
      await open(`serial=${serial};object=signer`, '', { modulePath: hsm.modulePath, pin: PIN }),
      async (s) => {
        assert.ok(verify('sha256', data, s.publicKey, await s.sign(data)));
      },
    );
  });

  it('finds the module by module-name among the well-known locations', async () => {
    await withSigner(
      await open(`token=${hsm.tokenLabel};object=signer`, `pin-value=${PIN}&module-name=softhsm2`),
      async (s) => {
        assert.ok(verify('sha256', data, s.publicKey, await s.sign(data)));
      },
    );
    const err = await rejectsPkcs11(open(`token=${hsm.tokenLabel};object=signer`, 'module-name=no-such-module'));
    assert.match(err.message, /no PKCS#11 module named "no-such-module"/);
  });

  it('logs in again for every signature with a CKA_ALWAYS_AUTHENTICATE key', async () => {
    await withSigner(await open(`token=${hsm.tokenLabel};object=piv-like`), async (s) => {
      assert.ok(verify('sha256', data, s.publicKey, await s.sign(data)));
      assert.ok(verify('sha256', data, s.publicKey, await s.sign(data)));
    });
  });

  it('reads the PIN from pin-source (file: URI or path), stripping one trailing newline', async () => {
    const pinFile = join(hsm.dir, 'pin.txt');
    await writeFile(pinFile, `${PIN}\n`, { mode: 0o600 });
    for (const source of [pathToFileURL(pinFile).href, pinFile]) {
      await withSigner(
        await open(`token=${hsm.tokenLabel};object=signer`, `pin-source=${source}&module-path=${hsm.modulePath}`),
        async (s) => {
          assert.ok(verify('sha256', data, s.publicKey, await s.sign(data)));
        },
      );
    }
    const reads: string[] = [];
    const readFile = async (path: string) => {
      reads.push(path);
      return `${PIN}\r\n`;
    };
    await withSigner(
      await open(`token=${hsm.tokenLabel};object=signer`, `pin-source=/vault/pin&module-path=${hsm.modulePath}`, {
        readFile,
      }),
      async (s) => {
        assert.ok(verify('sha256', data, s.publicKey, await s.sign(data)));
      },
    );
    assert.deepEqual(reads, ['/vault/pin']);
  });

  it('reports a wrong PIN without revealing it', async () => {
    const wrong = `${PIN}-wrong`;
    const err = await rejectsPkcs11(
      open(`token=${hsm.tokenLabel};object=signer`, `pin-value=${wrong}&module-path=${hsm.modulePath}`),
    );
    assert.match(err.message, /wrong PIN for token "airlock-test"/);
    assert.ok(!JSON.stringify(err.toJSON()).includes(wrong));
    assert.match(err.hint ?? '', /pin-source=/);
  });

  it('asks for a PIN when none is given', async () => {
    const err = await rejectsPkcs11(open(`token=${hsm.tokenLabel};object=signer`, `module-path=${hsm.modulePath}`));
    assert.match(err.message, /token "airlock-test" requires a PIN/);
    assert.match(err.hint ?? '', /pin-source=.*AIRLOCK_PKCS11_PIN/);
  });

  it('names the tokens present when the token is unknown', async () => {
    const err = await rejectsPkcs11(open('token=no-such-token;object=signer'));
    assert.match(err.message, /no token with token "no-such-token"/);
    assert.match(err.hint ?? '', /tokens present: "airlock-test"/);
  });

  it('names the key and the keys present when the object is unknown', async () => {
    const err = await rejectsPkcs11(open(`token=${hsm.tokenLabel};object=no-such-key;id=%09`));
    assert.match(err.message, /no private key with label "no-such-key" and id 09 on token "airlock-test"/);
    assert.match(err.hint ?? '', /"signer" \(id 01\)/);
  });

  it('explains a private key without a public key object', async () => {
    const err = await rejectsPkcs11(open(`token=${hsm.tokenLabel};object=orphan`));
    assert.match(err.message, /has no public key object/);
  });

  it('refuses a module that does not exist', async () => {
    const err = await rejectsPkcs11(
      open(`token=${hsm.tokenLabel};object=signer`, `pin-value=${PIN}&module-path=/nonexistent/libnone.so`),
    );
    assert.match(err.message, /\/nonexistent\/libnone\.so/);
  });

  it('runs two signers on one module side by side, and each close() is idempotent', async () => {
    const ec = await open(`token=${hsm.tokenLabel};object=signer`);
    const rsa = await open(`token=${hsm.tokenLabel};object=rsa`);
    const sigs = await Promise.all([ec.sign(data), rsa.sign(data), ec.sign(data), rsa.sign(data)]);
    assert.ok(sigs.every((sig, i) => verify('sha256', data, (i % 2 === 0 ? ec : rsa).publicKey, sig)));
    await ec.close();
    await ec.close();
    // The other signer's session and login survive the first close.
    assert.ok(verify('sha256', data, rsa.publicKey, await rsa.sign(data)));
    await rsa.close();
    await rsa.close();
    await assert.rejects(rsa.sign(data), (e) => isAirlockError(e, 'E_INTERNAL'));
  });
});
