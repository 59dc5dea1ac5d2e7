// Each way Fulcio refuses a request's key, proof or CSR, with CSRs made by `openssl req -new`.
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openssl } from '../../test/helpers/airlock-ca.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { encodePem } from '../crypto/pem.ts';
import { type ErrorCode, isAirlockError } from '../errors.ts';
import {
  parseCertificateSigningRequest,
  parseRequestPublicKey,
  REQUEST_MESSAGES,
  verifyProofOfPossession,
} from './request.ts';

const dir = useTempDir('airlock-ca-request-');

function refusedWith(fn: () => unknown, code: ErrorCode, message: string | RegExp): void {
  assert.throws(fn, (err) => {
    assert.ok(isAirlockError(err, code), `expected ${code}, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const spkiPem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const spkiBase64 = (key: KeyObject) => key.export({ type: 'spki', format: 'der' }).toString('base64');

describe('parseRequestPublicKey', () => {
  it('takes a PEM PUBLIC KEY or base64 DER SPKI of P-256, P-384, P-521, Ed25519 and RSA 2048', () => {
    const keys = [
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
    ];
    for (const key of keys) {
      assert.ok(parseRequestPublicKey(spkiPem(key)).equals(key));
      assert.ok(parseRequestPublicKey(spkiBase64(key)).equals(key));
    }
  });

  it('refuses what does not parse', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const der = key.export({ type: 'spki', format: 'der' });
    for (const content of [
      '',
      'not a key at all!',
      Buffer.from('not a key').toString('base64'),
      der.subarray(0, der.length - 4).toString('base64'),
      encodePem('CERTIFICATE', der),
      `${spkiBase64(key)}${'A'.repeat(20_000)}`,
    ]) {
      refusedWith(() => parseRequestPublicKey(content), 'E_CA_KEY', REQUEST_MESSAGES.keyUnparsable);
    }
  });

  it('refuses insecure keys: RSA below 2048 bits, curves other than P-256/384/521, other key types', () => {
    for (const key of [
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
      generateKeyPairSync('ed448').publicKey,
      generateKeyPairSync('x25519').publicKey,
    ]) {
      refusedWith(() => parseRequestPublicKey(spkiPem(key)), 'E_CA_KEY', REQUEST_MESSAGES.keyInsecure);
    }
  });

  it('refuses an RSA size between the permitted ones', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2560 }).publicKey;
    refusedWith(() => parseRequestPublicKey(spkiPem(key)), 'E_CA_KEY', /^signing algorithm not permitted: RSA 2560/);
  });
});

describe('verifyProofOfPossession', () => {
  const challenge = 'dev@airlock.test';
  const data = Buffer.from(challenge);

  it('verifies each key with its one hash: P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, RSA/SHA-256, Ed25519', () => {
    for (const [curve, hash] of [
      ['P-256', 'sha256'],
      ['P-384', 'sha384'],
      ['P-521', 'sha512'],
    ] as const) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      verifyProofOfPossession(publicKey, challenge, sign(hash, data, { key: privateKey, dsaEncoding: 'der' }));
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    verifyProofOfPossession(rsa.publicKey, challenge, sign('sha256', data, rsa.privateKey));
    const ed = generateKeyPairSync('ed25519');
    verifyProofOfPossession(ed.publicKey, challenge, sign(null, data, ed.privateKey));
  });

  it('refuses another hash, another encoding, another challenge, PSS padding, an oversized proof', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pss = { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    const cases: Array<[KeyObject, string, Uint8Array]> = [
      [p384.publicKey, challenge, sign('sha256', data, { key: p384.privateKey, dsaEncoding: 'der' })],
      [p256.publicKey, challenge, sign('sha256', data, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' })],
      [p256.publicKey, 'someone@else.test', sign('sha256', data, { key: p256.privateKey, dsaEncoding: 'der' })],
      [rsa.publicKey, challenge, sign('sha256', data, pss)],
      [p256.publicKey, challenge, Buffer.alloc(2000)],
    ];
    for (const [key, signed, proof] of cases) {
      refusedWith(() => verifyProofOfPossession(key, signed, proof), 'E_CA_PROOF', REQUEST_MESSAGES.signatureInvalid);
    }
  });
});

describe('parseCertificateSigningRequest (CSRs from openssl req -new)', () => {
  let made = 0;
  /** A CSR made by openssl: `genpkey` options for the key, `req` options for the signature. */
  async function opensslCsr(keyOptions: string[], reqOptions: string[] = []): Promise<{ pem: string; key: string }> {
    const n = made++;
    const key = join(dir, `csr${n}.key`);
    const csr = join(dir, `csr${n}.csr`);
    await openssl(['genpkey', ...keyOptions, '-out', key]);
    await openssl(['req', '-new', '-key', key, '-subj', '/CN=tamper-me', '-out', csr, ...reqOptions]);
    return { pem: await readFile(csr, 'utf8'), key };
  }
  const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
  const P256 = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];

  it('accepts P-256 with SHA-256 and Ed25519, as CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST', async () => {
    const p256 = await opensslCsr(P256, ['-sha256']);
    const key = parseCertificateSigningRequest(b64(p256.pem));
    const expected = await openssl(['pkey', '-in', p256.key, '-pubout']);
    assert.equal(spkiPem(key), expected);
    const renamed = p256.pem.replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST');
    assert.ok(parseCertificateSigningRequest(b64(renamed)).equals(key));
    const ed = await opensslCsr(['-algorithm', 'ED25519']);
    assert.equal(parseCertificateSigningRequest(b64(ed.pem)).asymmetricKeyType, 'ed25519');
  });

  it('refuses a P-256 CSR signed with SHA-384, and RSA-PSS, as not permitted', async () => {
    const sha384 = await opensslCsr(P256, ['-sha384']);
    refusedWith(
      () => parseCertificateSigningRequest(b64(sha384.pem)),
      'E_CA_KEY',
      /^signing algorithm not permitted: an ECDSA prime256v1 key signed with ECDSA with SHA-384$/,
    );
    const pss = await opensslCsr(
      ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
      ['-sha256', '-sigopt', 'rsa_padding_mode:pss'],
    );
    refusedWith(() => parseCertificateSigningRequest(b64(pss.pem)), 'E_CA_KEY', /^signing algorithm not permitted/);
  });

  it('refuses a tampered CSR as a signature that does not verify', async () => {
    const { pem } = await opensslCsr(P256, ['-sha256']);
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const at = der.indexOf('tamper-me');
    assert.ok(at > 0);
    der[at + 8] = 'f'.charCodeAt(0);
    const tampered = encodePem('CERTIFICATE REQUEST', der);
    refusedWith(() => parseCertificateSigningRequest(b64(tampered)), 'E_CA_PROOF', REQUEST_MESSAGES.signatureInvalid);
  });

  it('refuses bare DER, trailing data, other PEM types, non-base64 and oversized input as unparsable', async () => {
    const { pem } = await opensslCsr(P256, ['-sha256']);
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    for (const input of [
      b64(der),
      b64(encodePem('CERTIFICATE REQUEST', Buffer.concat([der, Buffer.of(0)]))),
      b64(pem.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE')),
      'not base64 at all!',
      'A'.repeat(100_000),
    ]) {
      refusedWith(() => parseCertificateSigningRequest(input), 'E_CA_KEY', REQUEST_MESSAGES.csrUnparsable);
    }
  });
});
