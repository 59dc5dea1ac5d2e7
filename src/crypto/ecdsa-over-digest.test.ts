// The native checker (OpenSSL) and the JavaScript one (@noble/curves) must give the same answer for
// every input, or a log's acceptance would depend on whether scripts/setup built the module. Each
// case below is asked of both, and of what signed it (node:crypto) where that applies.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { AirlockError } from '../errors.ts';
import {
  ecdsaOverDigest,
  ecdsaOverDigestBackend,
  NATIVE_MODULE_PATH,
  nativeEcdsaOverDigest,
  nobleEcdsaOverDigest,
} from './ecdsa-over-digest.ts';

const CURVES = [
  { name: 'P-256', hash: 'sha256', noble: p256 },
  { name: 'P-384', hash: 'sha384', noble: p384 },
  { name: 'P-521', hash: 'sha512', noble: p521 },
] as const;

type Curve = (typeof CURVES)[number];

function keyPair(curve: Curve): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: curve.name });
}

/** Both checkers for one key; the native one must exist (scripts/setup builds it before the tests). */
function checkers(publicKey: KeyObject) {
  const native = nativeEcdsaOverDigest(publicKey);
  assert.ok(native, `the native checker did not load (${ecdsaOverDigestBackend().detail}); run scripts/setup`);
  return { native, noble: nobleEcdsaOverDigest(publicKey) };
}

/** Asks both checkers; they must agree, and the answer is returned. */
function bothSay(publicKey: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  const { native, noble } = checkers(publicKey);
  const answer = native(digest, signature);
  assert.equal(
    noble(digest, signature),
    answer,
    `native said ${answer}, noble did not, for ${Buffer.from(signature).toString('hex')}`,
  );
  return answer;
}

function signed(curve: Curve, privateKey: KeyObject, message: Buffer) {
  return { digest: createHash(curve.hash).update(message).digest(), signature: sign(curve.hash, message, privateKey) };
}

/** The other valid signature for the same (r, s): (r, n − s). */
function otherHalf(curve: Curve, der: Uint8Array): Uint8Array {
  const sig = curve.noble.Signature.fromBytes(der, 'der');
  return new curve.noble.Signature(sig.r, curve.noble.Point.Fn.ORDER - sig.s).toBytes('der');
}

/** DER SEQUENCE { INTEGER r, INTEGER s } with the integers' content bytes given as they are. */
function derOf(r: Buffer, s: Buffer): Buffer {
  const integer = (v: Buffer) => Buffer.concat([Buffer.from([0x02, v.length]), v]);
  const body = Buffer.concat([integer(r), integer(s)]);
  return Buffer.concat([
    body.length < 128 ? Buffer.from([0x30, body.length]) : Buffer.from([0x30, 0x81, body.length]),
    body,
  ]);
}

function minimal(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  return bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

describe('ecdsaOverDigest', () => {
  it('uses the native checker where scripts/setup built it', () => {
    assert.deepEqual(ecdsaOverDigestBackend(), { native: true, detail: 'OpenSSL (native/ecdsa-prehash)' });
  });

  for (const curve of CURVES) {
    describe(curve.name, () => {
      const { publicKey, privateKey } = keyPair(curve);
      const other = keyPair(curve).publicKey;

      it('accepts what node:crypto signed, either half of s; refuses another digest, signature or key', () => {
        for (let i = 0; i < 20; i++) {
          const { digest, signature } = signed(curve, privateKey, randomBytes(1 + i * 7));
          assert.equal(bothSay(publicKey, digest, signature), true);
          assert.equal(
            bothSay(publicKey, digest, otherHalf(curve, signature)),
            true,
            'high-S is valid ECDSA (Go and OpenSSL accept it)',
          );
          const digest2 = Buffer.from(digest);
          digest2[i % digest2.length]! ^= 1 << (i % 8);
          assert.equal(bothSay(publicKey, digest2, signature), false);
          const signature2 = Buffer.from(signature);
          signature2[signature2.length - 1 - (i % 8)]! ^= 0x01;
          assert.equal(bothSay(publicKey, digest, signature2), false);
          assert.equal(bothSay(other, digest, signature), false);
        }
      });

      it('truncates a longer digest and takes a shorter one as FIPS 186 says, as noble does', () => {
        for (const length of [20, 32, 48, 64]) {
          const digest = randomBytes(length);
          const secret = curve.noble.utils.randomSecretKey();
          const signature = curve.noble.sign(digest, secret, { prehash: false, format: 'der' });
          const key = publicKeyOf(curve, curve.noble.getPublicKey(secret, false));
          assert.equal(bothSay(key, digest, signature), true, `${length}-byte digest`);
          const lastBitChanged = Buffer.from(digest);
          lastBitChanged[length - 1]! ^= 1;
          // Past the order's bit length a digest is cut to its leftmost bits: a change there is not seen.
          assert.equal(
            bothSay(key, lastBitChanged, signature),
            length * 8 > curve.noble.Point.Fn.BITS,
            `${length}-byte digest, last bit changed`,
          );
        }
      });

      it('refuses every encoding but strict DER', () => {
        const { digest, signature } = signed(curve, privateKey, Buffer.from('strict'));
        const sig = curve.noble.Signature.fromBytes(signature, 'der');
        const r = minimal(sig.r);
        const s = minimal(sig.s);
        const n = curve.noble.Point.Fn.ORDER;
        assert.equal(bothSay(publicKey, digest, derOf(r, s)), true, 'the test encoder itself makes valid DER');
        const cases: Record<string, Uint8Array> = {
          'trailing byte': Buffer.concat([signature, Buffer.from([0])]),
          'long-form length': Buffer.concat([Buffer.from([0x30, 0x81, signature[1]!]), signature.subarray(2)]),
          'padded r': derOf(Buffer.concat([Buffer.from([0]), r]), s),
          'negative s': derOf(r, Buffer.concat([Buffer.from([0xff]), s])),
          'r + n': derOf(minimal(sig.r + n), s),
          'r = 0': derOf(minimal(0n), s),
          's = 0': derOf(r, minimal(0n)),
          'raw r‖s (IEEE P1363)': curve.noble.Signature.fromBytes(signature, 'der').toBytes('compact'),
          'cut short': signature.subarray(0, signature.length - 1),
          empty: new Uint8Array(0),
        };
        for (const [name, bytes] of Object.entries(cases)) {
          assert.equal(bothSay(publicKey, digest, bytes), false, name);
        }
      });
    });
  }

  it('answers false for digests shorter than 1 or longer than 64 bytes, with either checker', () => {
    const curve = CURVES[0];
    const secret = curve.noble.utils.randomSecretKey();
    const key = publicKeyOf(curve, curve.noble.getPublicKey(secret, false));
    for (const length of [0, 65, 128]) {
      const digest = new Uint8Array(length).fill(7);
      // noble alone would truncate (or take an empty digest as zero) and accept these signatures.
      const signature = curve.noble.sign(digest, secret, { prehash: false, format: 'der' });
      assert.equal(
        curve.noble.verify(signature, digest, curve.noble.getPublicKey(secret, false), {
          prehash: false,
          format: 'der',
          lowS: false,
        }),
        true,
      );
      assert.equal(bothSay(key, digest, signature), false, `${length}-byte digest`);
    }
  });

  it('refuses keys it cannot check, with E_KEY_UNSUPPORTED', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const ed = generateKeyPairSync('ed25519').publicKey;
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    const privateP256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    for (const key of [rsa, ed, k1, privateP256]) {
      for (const make of [ecdsaOverDigest, nobleEcdsaOverDigest, nativeEcdsaOverDigest]) {
        assert.throws(
          () => make(key),
          (err: unknown) => err instanceof AirlockError && err.code === 'E_KEY_UNSUPPORTED',
        );
      }
    }
  });

  it('refuses the point at infinity, which node:crypto parses as a P-256 key', () => {
    const infinity = createPublicKey({ key: infinitySpki(), format: 'der', type: 'spki' });
    assert.equal(infinity.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    for (const make of [ecdsaOverDigest, nobleEcdsaOverDigest, nativeEcdsaOverDigest]) {
      assert.throws(
        () => make(infinity),
        (err: unknown) => err instanceof AirlockError && err.code === 'E_KEY_UNSUPPORTED',
      );
    }
  });

  it('binds a key once: the same KeyObject gets the same check', () => {
    const { publicKey } = keyPair(CURVES[0]);
    assert.equal(ecdsaOverDigest(publicKey), ecdsaOverDigest(publicKey));
  });

  describe('the native module itself', () => {
    const native = createRequire(import.meta.url)(NATIVE_MODULE_PATH) as {
      parseKey(...args: unknown[]): object;
      verify(...args: unknown[]): boolean;
    };
    const { publicKey, privateKey } = keyPair(CURVES[0]);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const { digest, signature } = signed(CURVES[0], privateKey, Buffer.from('native'));

    it('verifies with a key it parsed', () => {
      assert.equal(native.verify(native.parseKey(spki), digest, signature), true);
    });

    it('refuses SPKI that is not a valid P-256/384/521 key, or has bytes after it', () => {
      const offCurve = Buffer.from(spki);
      offCurve[offCurve.length - 1]! ^= 1; // y no longer matches x
      const rsaSpki = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      const k1Spki = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      for (const bad of [
        infinitySpki(),
        offCurve,
        Buffer.concat([spki, Buffer.from([0])]),
        spki.subarray(0, spki.length - 1),
        rsaSpki,
        k1Spki,
        Buffer.alloc(0),
      ]) {
        assert.throws(() => native.parseKey(bad));
      }
    });

    it('takes only a key it made (type-tagged), and Uint8Arrays', () => {
      const key = native.parseKey(spki);
      for (const notKey of [{}, null, 1, 'key', spki]) {
        assert.throws(() => native.verify(notKey, digest, signature), TypeError);
      }
      assert.throws(() => native.verify(key, 'digest', signature), TypeError);
      assert.throws(() => native.verify(key, digest, [...signature]), TypeError);
      assert.throws(() => native.verify(key, new Uint16Array(16), signature), TypeError);
      assert.throws(() => native.verify(key, digest), TypeError, 'two arguments');
      assert.throws(() => native.verify(key, digest, signature, signature), TypeError, 'four arguments');
      assert.throws(() => native.parseKey(), TypeError);
      assert.throws(() => native.parseKey(spki, spki), TypeError);
    });

    it('answers false, not an error, for digests and signatures of impossible sizes', () => {
      const key = native.parseKey(spki);
      assert.equal(native.verify(key, new Uint8Array(0), signature), false);
      assert.equal(native.verify(key, new Uint8Array(65), signature), false);
      assert.equal(native.verify(key, digest, new Uint8Array(4097)), false);
    });

    it('reads a Uint8Array view at its offset, not its buffer from the start', () => {
      const key = native.parseKey(spki);
      const backing = Buffer.concat([Buffer.alloc(7, 0xaa), digest, Buffer.alloc(5, 0xbb)]);
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 7, digest.length);
      assert.equal(native.verify(key, view, signature), true);
    });
  });
});

/** A P-256 SubjectPublicKeyInfo whose point is the one-byte encoding of infinity (SEC 1 §2.3.3). */
function infinitySpki(): Buffer {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const algorithm = spki.subarray(2, 2 + 2 + spki[3]!); // SEQUENCE { id-ecPublicKey, prime256v1 }
  return Buffer.concat([Buffer.from([0x30, algorithm.length + 4]), algorithm, Buffer.from([0x03, 0x02, 0x00, 0x00])]);
}

/** The KeyObject of a noble uncompressed point. */
function publicKeyOf(curve: Curve, point: Uint8Array): KeyObject {
  const size = (point.length - 1) / 2;
  const x = Buffer.from(point.subarray(1, 1 + size)).toString('base64url');
  const y = Buffer.from(point.subarray(1 + size)).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: curve.name, x, y }, format: 'jwk' });
}
