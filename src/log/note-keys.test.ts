import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import {
  checkpointKeyId,
  encodeVerifierKey,
  logIdFor,
  noteVerifierFor,
  parseVerifierKey,
  rfc6962LogId,
} from './note-keys.ts';

const code = (c: string) => (e: unknown) => isAirlockError(e) && e.code === c;
const spkiKey = (b64: string) => createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('log IDs and key IDs', () => {
  it('rekor-local (rekor-tiles CLIENTS.md, tlog-anchors.md §2.8): log ID, key ID and vkey', () => {
    const key = spkiKey('MCowBQYDK2VwAyEAREvJyNZGjX6B3DAIuD3BTg9rIwV00GY8Xg5FU+IFDUQ=');
    assert.equal(b64(logIdFor('rekor-local', key)), '2AtEIMfG6Y41yK0tcwRTBS2tjhOrjKGIpDkHFgp65g0=');
    assert.equal(noteVerifierFor('rekor-local', key).keyId.toString(16), 'd80b4420');
    assert.equal(
      encodeVerifierKey('rekor-local', key),
      'rekor-local+d80b4420+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E',
    );
  });

  it('public-good log2025-1.rekor.sigstore.dev (production trusted_root, tlog-anchors.md §2.3)', () => {
    const key = spkiKey('MCowBQYDK2VwAyEAt8rlp1knGwjfbcXAYPYAkn0XiLz1x8O4t0YkEhie244=');
    assert.equal(b64(logIdFor('log2025-1.rekor.sigstore.dev', key)), 'zxGZFVvd0FEmjR8WrFwMdcAJ9vtaY/QXf44Y1wUeP6A=');
    assert.equal(noteVerifierFor('log2025-1.rekor.sigstore.dev', key).keyId.toString(16), 'cf119915');
  });

  it('ECDSA: key ID and log ID are SHA-256 of the SPKI, whatever the name (Rekor v1 key c0d23d6a)', () => {
    const { publicKey } = parseVerifierKey(
      'rekor.sigstore.dev+c0d23d6a+' +
        'AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+' +
        'smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=',
    );
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    assert.deepEqual(logIdFor('anything', publicKey), rfc6962LogId(spki));
    assert.equal(b64(rfc6962LogId(spki)), 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=');
    assert.equal(noteVerifierFor('other.name', publicKey).keyId, 0xc0d23d6a);
  });

  it('RSA keeps Sigstore\'s 0xFF "PKIX-RSA-PKCS#1v1.5" rule for trusted roots', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const spki = key.export({ type: 'spki', format: 'der' });
    const want = createHash('sha256')
      .update('log\n')
      .update(Uint8Array.of(0xff))
      .update('PKIX-RSA-PKCS#1v1.5')
      .update(spki)
      .digest();
    assert.deepEqual(checkpointKeyId('log', key), want);
  });
});

describe('verifier keys', () => {
  it("reads vkeys whose base64 holds '+' (transparency-dev/formats TEST+7997405c)", () => {
    const vkey = parseVerifierKey('TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6');
    assert.equal(vkey.name, 'TEST');
    assert.equal(vkey.keyId, 0x7997405c);
    assert.equal(vkey.type, 0x01);
    assert.equal(
      encodeVerifierKey('TEST', vkey.publicKey),
      'TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6',
    );
  });

  it('round-trips fresh Ed25519 and P-256 keys', () => {
    for (const key of [
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
    ]) {
      const vkey = encodeVerifierKey('example.com/log', key);
      const parsed = parseVerifierKey(vkey);
      assert.ok(parsed.publicKey.equals(key));
      assert.equal(parsed.keyId, parsed.verifier.keyId);
    }
  });

  it("refuses a vkey whose key ID is not its key's", () => {
    assert.throws(
      () => parseVerifierKey('rekor-local+d80b4421+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E'),
      code('E_INPUT_MALFORMED'),
    );
    assert.throws(
      () => parseVerifierKey('rekor-locaI+d80b4420+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E'),
      code('E_INPUT_MALFORMED'),
    );
  });

  const good = 'rekor-local+d80b4420+AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E';
  for (const [what, vkey] of [
    ['no key', 'rekor-local+d80b4420'],
    ['an empty name', good.replace('rekor-local', '')],
    ['a short key ID', good.replace('d80b4420', 'd80b442')],
    ['a key ID that is not hex', good.replace('d80b4420', 'd80b442g')],
    ['bad base64', `${good}!`],
    ['a 31-byte Ed25519 key', `rekor-local+d80b4420+${b64(Buffer.alloc(32, 1).fill(1, 0, 1))}`],
    ['an ECDSA key that is not DER', `n+00000000+${b64(Buffer.from([2, 1, 2, 3]))}`],
  ] as const) {
    it(`refuses a vkey with ${what}`, () => {
      assert.throws(() => parseVerifierKey(vkey), code('E_INPUT_MALFORMED'));
    });
  }

  it('refuses key types it does not verify: cosigner (0x04), RFC 6962 (0x05), P-384 ECDSA, degenerate Ed25519', () => {
    const raw = Buffer.from('AURLycjWRo1+gdwwCLg9wU4PayMFdNBmPF4ORVPiBQ1E', 'base64').subarray(1);
    for (const type of [0x04, 0x05]) {
      assert.throws(
        () => parseVerifierKey(`n+00000000+${b64(Buffer.concat([Uint8Array.of(type), raw]))}`),
        code('E_KEY_UNSUPPORTED'),
      );
    }
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' });
    assert.throws(
      () => parseVerifierKey(`n+00000000+${b64(Buffer.concat([Uint8Array.of(2), p384]))}`),
      code('E_KEY_UNSUPPORTED'),
    );
    // The identity point (y = 1): every signature with R = identity and S = 0 would verify under it.
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    assert.throws(
      () => parseVerifierKey(`n+00000000+${b64(Buffer.concat([Uint8Array.of(1), identity]))}`),
      code('E_KEY_UNSUPPORTED'),
    );
  });
});
