// The Rekor v2 entry request: what parseCreateEntryRequest admits and refuses, and the leaf it stores
// checked against the leaf cosign/sigstore-go rebuild from a bundle (tlog-anchors.md §2.4, written out
// here by hand, not with the module's code).
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { Entry } from '@sigstore/protobuf-specs/rekor/v2';
import { isAirlockError } from '../errors.ts';
import { createPrivateCa, type Leaf, type PrivateCa } from '../../test/helpers/private-ca.ts';
import { ED25519PH_ABC } from '../../test/helpers/rfc8032.ts';
import { MAX_ENTRY_BYTES } from './rekor-entry.ts';
import { VerifierCache } from './rekor-request-verifier.ts';
import {
  type CreateEntryRequestJSON,
  MAX_REQUEST_BYTES,
  parseCreateEntryRequest,
  toCreateEntryRequest,
} from './rekor-request.ts';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const MESSAGE = Buffer.from('airlock release 1.2.3\n');

interface Case {
  readonly name: string;
  readonly keyDetails: string;
  readonly algorithm: string;
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  readonly publicKey: KeyObject;
  /** Signs the message so that the signature verifies over its `hash` digest. */
  readonly sign: (message: Uint8Array) => Uint8Array;
}

function nodeCase(
  name: string,
  keyDetails: string,
  hash: Case['hash'],
  pair: { publicKey: KeyObject; privateKey: KeyObject },
): Case {
  const algorithm = { sha256: 'SHA2_256', sha384: 'SHA2_384', sha512: 'SHA2_512' }[hash];
  return {
    name,
    keyDetails,
    algorithm,
    hash,
    publicKey: pair.publicKey,
    sign: (m) => sign(hash, m, { key: pair.privateKey, dsaEncoding: 'der' }),
  };
}

function ed25519phCase(): Case {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  return {
    name: 'Ed25519ph',
    keyDetails: 'PKIX_ED25519_PH',
    algorithm: 'SHA2_512',
    hash: 'sha512',
    publicKey,
    sign: (m) => ed25519ph.sign(m, seed),
  };
}

const CASES: Case[] = [
  nodeCase('P-256', 'PKIX_ECDSA_P256_SHA_256', 'sha256', generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  nodeCase('P-384', 'PKIX_ECDSA_P384_SHA_384', 'sha384', generateKeyPairSync('ec', { namedCurve: 'P-384' })),
  nodeCase('P-521', 'PKIX_ECDSA_P521_SHA_512', 'sha512', generateKeyPairSync('ec', { namedCurve: 'P-521' })),
  nodeCase('RSA-2048', 'PKIX_RSA_PKCS1V15_2048_SHA256', 'sha256', generateKeyPairSync('rsa', { modulusLength: 2048 })),
  nodeCase('RSA-3072', 'PKIX_RSA_PKCS1V15_3072_SHA256', 'sha256', generateKeyPairSync('rsa', { modulusLength: 3072 })),
  nodeCase('RSA-4096', 'PKIX_RSA_PKCS1V15_4096_SHA256', 'sha256', generateKeyPairSync('rsa', { modulusLength: 4096 })),
  ed25519phCase(),
];
const P256 = CASES[0] as Case;

type Verifier = { publicKey: { rawBytes: string } } | { x509Certificate: { rawBytes: string } };

/** A request spelled out as §2.1 shows it, so parser tests do not lean on toCreateEntryRequest. */
function requestJson(
  digest: Uint8Array,
  signature: Uint8Array,
  keyDetails: string,
  verifier: Verifier,
): CreateEntryRequestJSON {
  return {
    hashedRekordRequestV002: {
      digest: b64(digest),
      signature: { content: b64(signature), verifier: { ...verifier, keyDetails } },
    },
  };
}

function signedRequest(c: Case, message = MESSAGE): CreateEntryRequestJSON {
  const digest = createHash(c.hash).update(message).digest();
  return requestJson(digest, c.sign(message), c.keyDetails, { publicKey: { rawBytes: b64(spki(c.publicKey)) } });
}

/** The leaf as cosign / sigstore-go rebuild it (§2.4): JCS key order, written out by hand. */
function rebuiltLeaf(
  algorithm: string,
  digest: Uint8Array,
  signature: Uint8Array,
  keyDetails: string,
  verifier: string,
): string {
  return (
    `{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"${algorithm}` +
    `","digest":"${b64(digest)}"},` +
    `"signature":{"content":"${b64(signature)}","verifier":{"keyDetails":"${keyDetails}",${verifier}}}}}}`
  );
}

function rejects(
  json: unknown,
  code: 'E_INPUT_MALFORMED' | 'E_KEY_UNSUPPORTED' | 'E_SIGNATURE_INVALID',
  pattern?: RegExp,
): void {
  assert.throws(
    () => parseCreateEntryRequest(json),
    (err: unknown) => {
      assert.ok(isAirlockError(err, code), `expected ${code}, got ${String(err)}`);
      if (pattern) assert.match(`${err.message} ${err.hint ?? ''}`, pattern);
      return true;
    },
  );
}

const DROP = Symbol('drop');

/** A copy of a valid request with the field at `path` (below hashedRekordRequestV002) set to `value`, or dropped. */
function mutated(base: CreateEntryRequestJSON, path: string, value: unknown): unknown {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  const keys = ['hashedRekordRequestV002', ...path.split('.')];
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys.at(-1) as string;
  if (value === DROP) delete node[last];
  else node[last] = value;
  return copy;
}

describe('parseCreateEntryRequest: accepted requests', () => {
  for (const c of CASES) {
    it(`${c.name}: verifies over the digest and stores the leaf cosign rebuilds`, () => {
      const request = signedRequest(c);
      const entry = parseCreateEntryRequest(request);
      const digest = createHash(c.hash).update(MESSAGE).digest();
      const inner = request.hashedRekordRequestV002;
      const expected = rebuiltLeaf(
        c.algorithm,
        digest,
        Buffer.from(inner.signature.content, 'base64'),
        c.keyDetails,
        `"publicKey":{"rawBytes":"${b64(spki(c.publicKey))}"}`,
      );
      assert.equal(Buffer.from(entry.body).toString('utf8'), expected);
      assert.equal(entry.hash, c.hash);
      assert.deepEqual(entry.digest, digest);
      // What @sigstore/verify reads back (Entry.fromJSON, tlog/index.ts).
      const read = Entry.fromJSON(JSON.parse(Buffer.from(entry.body).toString('utf8')));
      assert.equal(read.spec?.spec?.$case, 'hashedRekordV002');
    });
  }

  it('builds, with toCreateEntryRequest, the very request spelled out by hand', () => {
    for (const c of CASES) {
      const request = signedRequest(c);
      const inner = request.hashedRekordRequestV002;
      const built = toCreateEntryRequest({
        digest: Buffer.from(inner.digest, 'base64'),
        signature: Buffer.from(inner.signature.content, 'base64'),
        verifier: c.publicKey,
      });
      assert.deepEqual(built, request, c.name);
    }
  });

  it('verifies RFC 8032 §7.3 (Ed25519ph, "abc") given only SHA-512("abc")', () => {
    const { publicKey, signature } = ED25519PH_ABC;
    const digest = createHash('sha512').update('abc').digest();
    const request = requestJson(digest, signature, 'PKIX_ED25519_PH', {
      publicKey: { rawBytes: b64(spki(publicKey)) },
    });
    assert.equal(parseCreateEntryRequest(request).hash, 'sha512');
    rejects(mutated(request, 'digest', b64(createHash('sha512').update('abd').digest())), 'E_SIGNATURE_INVALID');
  });

  it('accepts high-S ECDSA signatures, as Go does', () => {
    const digest = createHash('sha256').update(MESSAGE).digest();
    const sig = p256.Signature.fromBytes(P256.sign(MESSAGE), 'der');
    const flipped = new p256.Signature(sig.r, p256.Point.Fn.neg(sig.s)).toBytes('der');
    const low = sig.hasHighS() ? flipped : sig.toBytes('der');
    const high = sig.hasHighS() ? sig.toBytes('der') : flipped;
    for (const s of [low, high]) {
      parseCreateEntryRequest(
        requestJson(digest, s, P256.keyDetails, { publicKey: { rawBytes: b64(spki(P256.publicKey)) } }),
      );
    }
  });

  it('keeps the verifiers it has parsed apart, also past the number it keeps', () => {
    // Parsed verifiers are kept by their bytes: a request must never be checked with another one's key.
    const verifiers = new VerifierCache(256);
    const pairs = Array.from({ length: 300 }, () =>
      nodeCase('P-256', 'PKIX_ECDSA_P256_SHA_256', 'sha256', generateKeyPairSync('ec', { namedCurve: 'P-256' })),
    );
    const requests = pairs.map((c) => signedRequest(c));
    for (const round of [0, 1]) {
      for (const [i, request] of requests.entries()) {
        if (round === 1 && i % 10 !== 0) continue;
        parseCreateEntryRequest(request, verifiers);
        const neighbour = requests[(i + 1) % requests.length] as CreateEntryRequestJSON;
        rejects(
          mutated(request, 'signature.verifier', neighbour.hashedRekordRequestV002.signature.verifier),
          'E_SIGNATURE_INVALID',
        );
      }
    }
    assert.equal(verifiers.size, 256);
  });

  it('keeps a verifier only once a request with it was accepted', () => {
    // Otherwise anyone could fill the log's memory with large certificates that never verify.
    const verifiers = new VerifierCache(8);
    const request = signedRequest(P256);
    const wrong = signedRequest(P256, Buffer.from('another message')).hashedRekordRequestV002.signature.content;
    assert.throws(
      () => parseCreateEntryRequest(mutated(request, 'signature.content', wrong), verifiers),
      (err) => isAirlockError(err, 'E_SIGNATURE_INVALID'),
    );
    assert.throws(
      () =>
        parseCreateEntryRequest(
          mutated(request, 'signature.verifier.keyDetails', 'PKIX_ECDSA_P384_SHA_384'),
          verifiers,
        ),
      (err) => isAirlockError(err, 'E_KEY_UNSUPPORTED'),
    );
    assert.equal(verifiers.size, 0);
    parseCreateEntryRequest(request, verifiers);
    assert.equal(verifiers.size, 1);
    // A verifier larger than any entry is refused before it is parsed.
    rejects(
      mutated(request, 'signature.verifier.publicKey.rawBytes', b64(Buffer.alloc(MAX_ENTRY_BYTES + 1))),
      'E_INPUT_MALFORMED',
      /rawBytes is 65536 bytes/,
    );
  });

  describe('with an X.509 certificate verifier', () => {
    let ca: PrivateCa;
    let leaf: Leaf;
    before(async () => {
      ca = await createPrivateCa();
      leaf = await ca.issueLeaf({ san: 'release@example.com', issuer: 'https://oidc.example' });
    });
    after(() => ca.cleanup());

    function certRequest(certDer: Uint8Array): CreateEntryRequestJSON {
      const digest = createHash('sha256').update(MESSAGE).digest();
      return requestJson(digest, sign('sha256', MESSAGE, leaf.privateKey), 'PKIX_ECDSA_P256_SHA_256', {
        x509Certificate: { rawBytes: b64(certDer) },
      });
    }

    it("verifies with the certificate's key and stores the certificate as sent", () => {
      const entry = parseCreateEntryRequest(certRequest(leaf.certDer));
      assert.ok(entry.certificate);
      assert.match(
        Buffer.from(entry.body).toString(),
        new RegExp(`"x509Certificate":\\{"rawBytes":"${b64(leaf.certDer).replace(/[+/]/g, '\\$&')}"\\}`),
      );
    });

    it('refuses bytes after the certificate, and bytes that are no certificate', () => {
      rejects(
        certRequest(Buffer.concat([leaf.certDer, Buffer.of(0, 0)])),
        'E_INPUT_MALFORMED',
        /after the certificate/,
      );
      rejects(certRequest(Buffer.from('not a certificate')), 'E_INPUT_MALFORMED', /X\.509/);
    });

    it(
      "refuses a certificate whose EC key Go's x509 package would not parse (explicit curve, " + 'compressed point)',
      async () => {
        for (const keyEncoding of ['explicit', 'compressed'] as const) {
          const odd = await ca.issueLeaf({ san: 'release@example.com', issuer: 'https://oidc.example', keyEncoding });
          const digest = createHash('sha256').update(MESSAGE).digest();
          const json = requestJson(digest, sign('sha256', MESSAGE, odd.privateKey), 'PKIX_ECDSA_P256_SHA_256', {
            x509Certificate: { rawBytes: b64(odd.certDer) },
          });
          rejects(json, 'E_KEY_UNSUPPORTED', /form Go's x509 package parses/);
        }
      },
    );

    it('refuses a signature by another key than the certificate holds', () => {
      const other = signedRequest(P256);
      rejects(
        mutated(certRequest(leaf.certDer), 'signature.content', other.hashedRekordRequestV002.signature.content),
        'E_SIGNATURE_INVALID',
      );
    });
  });
});

describe('parseCreateEntryRequest: refused requests', () => {
  const valid = signedRequest(P256);
  const inner = valid.hashedRekordRequestV002;

  it('refuses dsseRequestV002 and says how to log DSSE instead', () => {
    rejects({ dsseRequestV002: { envelope: {}, verifiers: [] } }, 'E_INPUT_MALFORMED', /dropped DSSE.*PAE/s);
  });

  it('refuses shapes that are not a hashedRekordRequestV002 (E_INPUT_MALFORMED)', () => {
    const shapes: Array<[string, unknown]> = [
      ['null', null],
      ['an array', [valid]],
      ['a string', JSON.stringify(valid)],
      ['an empty object', {}],
      ['another top-level key', { ...valid, extra: 1 }],
      ['the old spec key', { hashedRekordRequestV0_0_2: valid.hashedRekordRequestV002 }],
      ['a missing digest', mutated(valid, 'digest', DROP)],
      ['an empty digest', mutated(valid, 'digest', '')],
      ['a missing signature', mutated(valid, 'signature', DROP)],
      ['a missing signature content', mutated(valid, 'signature.content', DROP)],
      ['a missing verifier', mutated(valid, 'signature.verifier', DROP)],
      ['a missing keyDetails', mutated(valid, 'signature.verifier.keyDetails', DROP)],
      ['no key at all', mutated(valid, 'signature.verifier.publicKey', DROP)],
      ['empty rawBytes', mutated(valid, 'signature.verifier.publicKey.rawBytes', '')],
      ['an unknown field', mutated(valid, 'signature.verifier.publicKey.hint', 'x')],
      ['a null field', mutated(valid, 'signature.verifier.x509Certificate', null)],
      ['both a key and a certificate', mutated(valid, 'signature.verifier.x509Certificate', { rawBytes: 'AAAA' })],
      ['a numeric enum', mutated(valid, 'signature.verifier.keyDetails', 5)],
      ['an unknown enum name', mutated(valid, 'signature.verifier.keyDetails', 'PKIX_ECDSA_P256_SHA_257')],
      ['url-safe base64', mutated(valid, 'digest', Buffer.from(inner.digest, 'base64').toString('base64url'))],
      // A 32-byte digest always ends in one '='.
      ['unpadded base64', mutated(valid, 'digest', inner.digest.replace(/=$/, ''))],
      ['base64 with a line break', mutated(valid, 'digest', `${inner.digest.slice(0, 8)}\n${inner.digest.slice(8)}`)],
      ['a digest that is a number', mutated(valid, 'digest', 42)],
    ];
    for (const [what, json] of shapes) {
      assert.throws(
        () => parseCreateEntryRequest(json),
        (err: unknown) => isAirlockError(err, 'E_INPUT_MALFORMED'),
        what,
      );
    }
  });

  it('refuses a publicKey that is not DER SPKI (E_INPUT_MALFORMED)', () => {
    rejects(
      mutated(valid, 'signature.verifier.publicKey.rawBytes', b64(Buffer.from('not a key'))),
      'E_INPUT_MALFORMED',
      /SubjectPublicKeyInfo/,
    );
  });

  it('refuses keyDetails other than the default for the key (E_KEY_UNSUPPORTED)', () => {
    const rsa = signedRequest(CASES[3] as Case);
    const ed = signedRequest(CASES[6] as Case);
    rejects(
      mutated(valid, 'signature.verifier.keyDetails', 'PKIX_ECDSA_P384_SHA_384'),
      'E_KEY_UNSUPPORTED',
      /expected PKIX_ECDSA_P256_SHA_256/,
    );
    rejects(mutated(valid, 'signature.verifier.keyDetails', 'PKIX_ECDSA_P256_HMAC_SHA_256'), 'E_KEY_UNSUPPORTED');
    rejects(
      mutated(rsa, 'signature.verifier.keyDetails', 'PKIX_RSA_PKCS1V15_4096_SHA256'),
      'E_KEY_UNSUPPORTED',
      /2048/,
    );
    rejects(mutated(rsa, 'signature.verifier.keyDetails', 'PKIX_RSA_PSS_2048_SHA256'), 'E_KEY_UNSUPPORTED');
    rejects(mutated(ed, 'signature.verifier.keyDetails', 'PKIX_ED25519'), 'E_KEY_UNSUPPORTED', /pure Ed25519/);
  });

  it('refuses key types and sizes Rekor v2 does not take (E_KEY_UNSUPPORTED)', () => {
    const keys: Array<[string, KeyObject]> = [
      ['secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey],
      ['RSA-1024', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey],
      ['RSA-PSS', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey],
      ['Ed448', generateKeyPairSync('ed448').publicKey],
    ];
    for (const [what, key] of keys) {
      const json = mutated(valid, 'signature.verifier.publicKey.rawBytes', b64(spki(key)));
      assert.throws(
        () => parseCreateEntryRequest(json),
        (err: unknown) => isAirlockError(err, 'E_KEY_UNSUPPORTED'),
        what,
      );
    }
  });

  it('refuses SPKI encodings Go would re-encode differently (E_KEY_UNSUPPORTED)', () => {
    const info = AsnConvert.parse(spki(P256.publicKey), SubjectPublicKeyInfo);
    const point = p256.Point.fromBytes(new Uint8Array(info.subjectPublicKey));
    const compressed = AsnConvert.serialize(
      new SubjectPublicKeyInfo({ algorithm: info.algorithm, subjectPublicKey: point.toBytes(true).slice().buffer }),
    );
    rejects(
      mutated(valid, 'signature.verifier.publicKey.rawBytes', b64(new Uint8Array(compressed))),
      'E_KEY_UNSUPPORTED',
      /canonical DER/,
    );
    rejects(
      mutated(valid, 'signature.verifier.publicKey.rawBytes', b64(Buffer.concat([spki(P256.publicKey), Buffer.of(0)]))),
      'E_KEY_UNSUPPORTED',
    );
  });

  it(
    'refuses the point at infinity, which OpenSSL parses as a P-256 key (E_KEY_UNSUPPORTED, not an ' +
      'internal error)',
    () => {
      const info = AsnConvert.parse(spki(P256.publicKey), SubjectPublicKeyInfo);
      const infinity = AsnConvert.serialize(
        new SubjectPublicKeyInfo({ algorithm: info.algorithm, subjectPublicKey: new Uint8Array([0]).buffer }),
      );
      rejects(
        mutated(valid, 'signature.verifier.publicKey.rawBytes', b64(new Uint8Array(infinity))),
        'E_KEY_UNSUPPORTED',
        /not a valid key/,
      );
    },
  );

  it('refuses a digest whose length is not the size of the key hash (E_INPUT_MALFORMED)', () => {
    rejects(
      mutated(valid, 'digest', b64(createHash('sha384').update(MESSAGE).digest())),
      'E_INPUT_MALFORMED',
      /32-byte sha256/,
    );
  });

  it('refuses a tampered digest or signature for every key type (E_SIGNATURE_INVALID)', () => {
    for (const c of CASES) {
      const request = signedRequest(c);
      const flip = (text: string) => {
        const bytes = Buffer.from(text, 'base64');
        bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0x01;
        return b64(bytes);
      };
      rejects(mutated(request, 'digest', flip(request.hashedRekordRequestV002.digest)), 'E_SIGNATURE_INVALID');
      rejects(
        mutated(request, 'signature.content', flip(request.hashedRekordRequestV002.signature.content)),
        'E_SIGNATURE_INVALID',
      );
      // A signature over the message is not one over the digest (prehash), except where they coincide.
      const other = signedRequest(c, Buffer.from('another message'));
      rejects(
        mutated(request, 'signature.content', other.hashedRekordRequestV002.signature.content),
        'E_SIGNATURE_INVALID',
      );
    }
  });

  it('refuses an RSA signature without its leading zero octet, as Go does', () => {
    const rsa = CASES[3] as Case;
    const rawBytes = b64(spki(rsa.publicKey));
    for (let i = 0; ; i += 1) {
      const message = Buffer.from(`release ${i}`);
      const signature = rsa.sign(message);
      if (signature[0] !== 0) continue;
      const digest = createHash('sha256').update(message).digest();
      parseCreateEntryRequest(requestJson(digest, signature, rsa.keyDetails, { publicKey: { rawBytes } }));
      rejects(
        requestJson(digest, signature.subarray(1), rsa.keyDetails, { publicKey: { rawBytes } }),
        'E_SIGNATURE_INVALID',
      );
      return;
    }
  });

  it(
    `refuses entries over ${MAX_ENTRY_BYTES} bytes before checking the signature; the server reads ` +
      `at most ${MAX_REQUEST_BYTES}`,
    () => {
      assert.equal(MAX_REQUEST_BYTES, 4 * 1024 * 1024);
      rejects(mutated(valid, 'signature.content', b64(Buffer.alloc(50_000, 1))), 'E_INPUT_MALFORMED', /65535/);
    },
  );
});
