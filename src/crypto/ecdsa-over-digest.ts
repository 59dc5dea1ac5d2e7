// ECDSA checked over a digest the caller already holds: a hashedrekord carries the artifact's digest,
// not the artifact, and `verify-blob sha256:<hex>` has only the digest too. node:crypto always hashes
// what it is given (a digest-taking verify is nodejs/node#62345, not in Node 24), so there are two
// ways to do it, and both give the same answers (ecdsa-over-digest.test.ts checks them against each
// other, high-S and malformed encodings included):
//   - OpenSSL, the copy inside Node, through native/ecdsa-prehash (a binding of d2i_PUBKEY,
//     EVP_PKEY_public_check_quick and EVP_PKEY_verify that scripts/setup builds): ~0.1 ms per P-256 check;
//   - @noble/curves when that module is not built or does not load: ~5 ms per P-256 check, which
//     caps a log's hashedrekord appends at a few hundred per second per core.
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { AirlockError } from '../errors.ts';

/** One key's check: true only when `signature` (DER) is that key's ECDSA signature over `digest`. */
export type EcdsaOverDigest = (digest: Uint8Array, signature: Uint8Array) => boolean;

const NOBLE_CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521 } as const;

interface NativeChecker {
  parseKey(spkiDer: Uint8Array): object;
  verify(key: object, digest: Uint8Array, signature: Uint8Array): boolean;
}

export const NATIVE_MODULE_PATH = fileURLToPath(
  new URL('../../native/ecdsa-prehash/build/Release/ecdsa_prehash.node', import.meta.url),
);

let native: { readonly checker: NativeChecker } | { readonly reason: string } | undefined;

function loadNative(): { readonly checker: NativeChecker } | { readonly reason: string } {
  if (native) return native;
  if (!existsSync(NATIVE_MODULE_PATH)) {
    native = { reason: 'native/ecdsa-prehash is not built (scripts/setup builds it)' };
  } else {
    try {
      native = { checker: createRequire(import.meta.url)(NATIVE_MODULE_PATH) as NativeChecker };
    } catch (err) {
      native = { reason: `native/ecdsa-prehash did not load: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return native;
}

/** Which implementation ecdsaOverDigest uses in this process, and why, for `doctor` and `log serve`. */
export function ecdsaOverDigestBackend(): { readonly native: boolean; readonly detail: string } {
  const loaded = loadNative();
  return 'checker' in loaded
    ? { native: true, detail: 'OpenSSL (native/ecdsa-prehash)' }
    : { native: false, detail: `@noble/curves in JavaScript, ~50x slower: ${loaded.reason}` };
}

function curveOf(key: KeyObject): keyof typeof NOBLE_CURVES {
  const name = key.asymmetricKeyDetails?.namedCurve ?? '';
  if (key.type !== 'public')
    throw new AirlockError('E_KEY_UNSUPPORTED', `checking a signature needs a public key, not a ${key.type} one`);
  if (key.asymmetricKeyType !== 'ec' || !Object.hasOwn(NOBLE_CURVES, name)) {
    throw new AirlockError(
      'E_KEY_UNSUPPORTED',
      `checking a signature over a digest needs an ECDSA P-256, P-384 or P-521 key, not ` +
        `${key.asymmetricKeyType}${name ? ` ${name}` : ''}`,
    );
  }
  return name as keyof typeof NOBLE_CURVES;
}

function invalidKey(): AirlockError {
  return new AirlockError('E_KEY_UNSUPPORTED', 'the ECDSA public key is not a valid point of its curve');
}

/** The check through OpenSSL; undefined when the native module is not available. */
export function nativeEcdsaOverDigest(key: KeyObject): EcdsaOverDigest | undefined {
  curveOf(key);
  const loaded = loadNative();
  if (!('checker' in loaded)) return undefined;
  const { checker } = loaded;
  let handle: object;
  try {
    handle = checker.parseKey(key.export({ format: 'der', type: 'spki' }));
  } catch {
    throw invalidKey();
  }
  return (digest, signature) => {
    if (!digestSizeOk(digest)) return false;
    try {
      return checker.verify(handle, digest, signature);
    } catch {
      return false; // only for arguments that are not Uint8Arrays: nothing verified
    }
  };
}

/**
 * Both checkers take digests of 1 to 64 bytes (SHA-256 to SHA-512) and nothing else: OpenSSL and noble
 * would each make something of others (truncation, an empty digest as zero), but not the same thing.
 */
function digestSizeOk(digest: Uint8Array): boolean {
  return digest.length >= 1 && digest.length <= 64;
}

/** The check in JavaScript (@noble/curves), exactly as strict: DER only, either half of s. */
export function nobleEcdsaOverDigest(key: KeyObject): EcdsaOverDigest {
  const curve = NOBLE_CURVES[curveOf(key)];
  let point: Uint8Array;
  try {
    const jwk = key.export({ format: 'jwk' }); // throws for the point at infinity, which node:crypto parses
    point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x ?? '', 'base64url'),
      Buffer.from(jwk.y ?? '', 'base64url'),
    ]);
    curve.Point.fromBytes(point).assertValidity();
  } catch {
    throw invalidKey();
  }
  return (digest, signature) => {
    if (!digestSizeOk(digest)) return false;
    try {
      // lowS false: Go and OpenSSL sign with either half of s, and both verify either.
      return curve.verify(signature, digest, point, { prehash: false, format: 'der', lowS: false });
    } catch {
      return false;
    }
  };
}

const bound = new WeakMap<KeyObject, EcdsaOverDigest>();

/**
 * The key's check over a digest, through OpenSSL when the native module loads, else @noble/curves.
 * Parsing the key costs more than a native check, so the check is bound once per KeyObject.
 */
export function ecdsaOverDigest(key: KeyObject): EcdsaOverDigest {
  let check = bound.get(key);
  if (!check) {
    check = nativeEcdsaOverDigest(key) ?? nobleEcdsaOverDigest(key);
    bound.set(key, check);
  }
  return check;
}
