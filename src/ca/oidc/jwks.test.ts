import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirlockError } from '../../errors.ts';
import { testIssuer } from '../../../test/helpers/oidc-issuer.ts';
import { loadOidcIssuers, MAX_JWKS_BYTES, parseJwks } from './jwks.ts';

const bytes = (doc: unknown) => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));

function malformed(doc: unknown, reason: RegExp): void {
  assert.throws(
    () => parseJwks(bytes(doc), 'idp.jwks.json'),
    (err: unknown) => {
      assert.ok(isAirlockError(err, 'E_INPUT_MALFORMED'), String(err));
      assert.match(err.message, /^idp\.jwks\.json/);
      assert.match(err.message, reason);
      return true;
    },
  );
}

describe('parseJwks', async () => {
  const rsa = (await testIssuer('https://a.example', 'RS256')).publicJwk;
  const ec = (await testIssuer('https://a.example', 'ES256')).publicJwk;
  const ed = (await testIssuer('https://a.example', 'EdDSA')).publicJwk;

  it('keeps public signature keys of every allowed type, and drops encryption keys', () => {
    const enc = { ...rsa, kid: 'enc-1', use: 'enc', alg: 'RSA-OAEP' };
    const wrapOnly = { ...ec, kid: 'wrap', use: undefined, key_ops: ['wrapKey'] };
    assert.deepEqual(parseJwks(bytes({ keys: [rsa, enc, ec, wrapOnly, ed] }), 'j'), { keys: [rsa, ec, ed] });
    const noKid = { ...ec, kid: undefined, alg: undefined };
    assert.deepEqual(parseJwks(bytes({ keys: [noKid] }), 'j').keys.length, 1);
  });

  it('refuses what is not a JWKS', () => {
    malformed('{', /not JSON/);
    malformed([], /not a JWKS/);
    malformed({ keys: {} }, /not a JWKS/);
    malformed(null, /not a JWKS/);
    malformed({ keys: [] }, /no signature key/);
    malformed({ keys: [{ ...rsa, use: 'enc' }] }, /no signature key/);
    malformed({ keys: ['x'] }, /key 0: not a JSON object/);
    malformed({ keys: Array(101).fill(ec) }, /101 keys; at most 100/);
    assert.throws(() => parseJwks(new Uint8Array(MAX_JWKS_BYTES + 1), 'j'), /more than 1048576 bytes/);
  });

  it('refuses symmetric keys and private key material', () => {
    malformed({ keys: [ec, { kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' }] }, /key 1: a symmetric key \(kty "oct"\)/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    malformed({ keys: [privateKey.export({ format: 'jwk' })] }, /private key material/);
  });

  it('refuses keys without a usable algorithm or curve', () => {
    malformed({ keys: [{ ...rsa, alg: 'HS256' }] }, /"alg" "HS256" is not one of RS256, .*PS512/);
    malformed({ keys: [{ ...rsa, alg: 'none' }] }, /"alg" "none"/);
    malformed({ keys: [{ ...ec, alg: 'ES384' }] }, /"alg" "ES384" is not one of ES256/);
    malformed({ keys: [{ ...ec, crv: 'secp256k1' }] }, /curve "secp256k1" is not one of/);
    malformed({ keys: [{ ...ed, crv: 'X25519', alg: undefined }] }, /curve "X25519"/);
    malformed({ keys: [{ kty: 'AKP', alg: 'ML-DSA-44' }] }, /key type "AKP" is not RSA, EC or OKP/);
    malformed({ keys: [{ ...rsa, use: 'both' }] }, /"use" is "both"/);
    malformed({ keys: [{ ...ec, x: 'AAAA' }] }, /not a valid public key/);
    malformed({ keys: [{ ...ec, kid: 7 }] }, /"kid" is not a string/);
  });

  it('refuses RSA keys under 2048 bits and kids that name two keys', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    malformed({ keys: [publicKey.export({ format: 'jwk' })] }, /RSA key of 1024 bits; at least 2048/);
    malformed({ keys: [rsa, { ...ec, kid: rsa.kid }] }, /kid "RS256-key-1" names two keys/);
  });
});

describe('loadOidcIssuers', async () => {
  const issuer = await testIssuer('https://idp.example.com', 'ES256');
  const files = new Map([['idp.json', bytes(issuer.jwks)]]);
  const reads: Array<[string, number]> = [];
  const reader = async (path: string, maxBytes: number) => {
    reads.push([path, maxBytes]);
    const found = files.get(path);
    if (found === undefined) throw new Error(`test reader: no ${path}`);
    return found;
  };

  it('parses each spec and reads its JWKS through the reader given, bounded', async () => {
    const loaded = await loadOidcIssuers(
      [
        'https://idp.example.com=idp.json',
        { url: 'https://k8s.example', jwksPath: 'idp.json', type: 'kubernetes', audience: 'sigstore' },
      ],
      reader,
    );
    assert.deepEqual(reads, [
      ['idp.json', MAX_JWKS_BYTES],
      ['idp.json', MAX_JWKS_BYTES],
    ]);
    assert.deepEqual(
      loaded.map((i) => [i.url, i.type, i.audience, i.jwks]),
      [
        ['https://idp.example.com', 'email', 'sigstore', issuer.jwks],
        ['https://k8s.example', 'kubernetes', 'sigstore', issuer.jwks],
      ],
    );
  });

  it('refuses an issuer URL given twice before reading anything', async () => {
    reads.length = 0;
    await assert.rejects(
      loadOidcIssuers(
        ['https://idp.example.com=idp.json', 'https://idp.example.com=other.json,type=kubernetes'],
        reader,
      ),
      (err: unknown) => isAirlockError(err, 'E_USAGE') && /given twice/.test(err.message),
    );
    assert.deepEqual(reads, []);
  });

  it('passes on what the reader and the parser refuse', async () => {
    await assert.rejects(loadOidcIssuers(['https://idp.example.com=none.json'], reader), /no none\.json/);
    files.set('bad.json', bytes({ keys: [{ kty: 'oct', k: 'AA' }] }));
    await assert.rejects(
      loadOidcIssuers(['https://idp.example.com=bad.json'], reader),
      (err: unknown) => isAirlockError(err, 'E_INPUT_MALFORMED') && /^bad\.json: key 0/.test(err.message),
    );
    await assert.rejects(loadOidcIssuers(['nope'], reader), (err: unknown) => isAirlockError(err, 'E_USAGE'));
  });
});
