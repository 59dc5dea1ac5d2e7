// The entry-verifier check called directly with entries made here; verify-blob.test.ts and the
// end-to-end tests run it on real bundles from `airlock log serve`.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkEntryVerifiers } from './entry-verifier.ts';
import { Checks } from './report.ts';

const keyA = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const keyB = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' }).toString('base64');

function bundleWith(body: unknown, version = '0.0.2') {
  const canonicalizedBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    verificationMaterial: {
      tlogEntries: [{ logIndex: '3', kindVersion: { kind: 'hashedrekord', version }, canonicalizedBody }],
    },
  } as never;
}
const hashed = (key: KeyObject) => ({
  apiVersion: '0.0.2',
  kind: 'hashedrekord',
  spec: { hashedRekordV002: { signature: { content: 'c2ln', verifier: { publicKey: { rawBytes: spki(key) } } } } },
});

describe('a Rekor v2 entry must name the key that verified the bundle', () => {
  it('passes for the signing key, refuses another (E_TLOG_ENTRY)', () => {
    const checks = new Checks();
    checkEntryVerifiers(bundleWith(hashed(keyA)), keyA, checks);
    assert.equal(checks.list[0]?.name, 'log entry verifier');
    assert.throws(() => checkEntryVerifiers(bundleWith(hashed(keyA)), keyB, new Checks()), {
      code: 'E_TLOG_ENTRY',
      message: /another verifier/,
    });
  });

  it('a DSSE entry passes when one of its verifiers is the key; a body that is not JSON is refused', () => {
    const dsse = {
      spec: {
        dsseV002: {
          signatures: [
            { verifier: { publicKey: { rawBytes: spki(keyB) } } },
            { verifier: { publicKey: { rawBytes: spki(keyA) } } },
          ],
        },
      },
    };
    checkEntryVerifiers(bundleWith(dsse), keyA, new Checks());
    assert.throws(() => checkEntryVerifiers(bundleWith('{'), keyA, new Checks()), { code: 'E_TLOG_ENTRY' });
  });

  it('Rekor v1 entries and other kinds are left to the checks that cover them', () => {
    const checks = new Checks();
    checkEntryVerifiers(bundleWith(hashed(keyA), '0.0.1'), keyB, checks);
    checkEntryVerifiers(bundleWith({ spec: { somethingElse: {} } }), keyB, checks);
    assert.equal(checks.list.length, 0);
  });
});
