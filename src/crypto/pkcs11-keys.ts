// Finding a key pair on a token and rebuilding its public half as a node KeyObject. The private key
// never leaves the token; its public key object is what tells us the algorithm and goes into bundles.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { ASN1Obj } from '@sigstore/core';
import pkcs11js from 'pkcs11js';
import { AirlockError } from '../errors.ts';
import { type Pkcs11Handle, type Pkcs11Lib, pkcs11Failure, readUlong } from './pkcs11-module.ts';
import type { Pkcs11Uri } from './pkcs11-uri.ts';
import type { SigningAlgorithm } from './signer.ts';

export const EC_CURVES = {
  '1.2.840.10045.3.1.7': { crv: 'P-256', curve: p256, size: 32, algorithm: 'ecdsa-sha2-256-nistp256' },
  '1.3.132.0.34': { crv: 'P-384', curve: p384, size: 48, algorithm: 'ecdsa-sha2-384-nistp384' },
} as const;
export type EcCurve = (typeof EC_CURVES)[keyof typeof EC_CURVES];

export interface TokenPublicKey {
  readonly publicKey: KeyObject;
  readonly algorithm: SigningAlgorithm;
  /** Set for ECDSA keys: the curve, for raw-to-DER signature conversion. */
  readonly curve?: EcCurve;
  /** Bytes of a raw signature: r||s for ECDSA, the modulus length for RSA. */
  readonly signatureLength: number;
}

function unsupported(message: string): AirlockError {
  return new AirlockError('E_PKCS11', message, {
    hint: 'airlock signs with EC P-256 / P-384 or RSA 2048 / 3072 / 4096 keys',
  });
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** The public key of an EC key pair from CKA_EC_PARAMS (a named-curve OID) and CKA_EC_POINT. */
export function ecPublicKey(ecParams: Buffer, ecPoint: Buffer): TokenPublicKey {
  let oid: string;
  try {
    oid = ASN1Obj.parseBuffer(ecParams as Buffer<ArrayBuffer>).toOID();
  } catch (err) {
    throw unsupported(
      `the key's EC parameters are not a named curve (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const curve = (EC_CURVES as Record<string, EcCurve>)[oid];
  if (!curve) throw unsupported(`the key's elliptic curve ${oid} is not supported`);
  // PKCS#11 wraps the point in a DER OCTET STRING; some older tokens return the bare point, which can
  // itself happen to parse as an OCTET STRING, so each reading must also be a point on the curve.
  const readings: Uint8Array[] = [];
  try {
    const obj = ASN1Obj.parseBuffer(ecPoint as Buffer<ArrayBuffer>);
    if (obj.tag.isOctetString()) readings.push(obj.value);
  } catch {
    // not DER: only the bare reading is left
  }
  readings.push(ecPoint);
  let uncompressed: Uint8Array | undefined;
  let failure: unknown;
  for (const encoded of readings) {
    try {
      uncompressed = curve.curve.Point.fromBytes(encoded).toBytes(false);
      break;
    } catch (err) {
      failure ??= err;
    }
  }
  if (!uncompressed) {
    throw new AirlockError('E_PKCS11', `the token returned an invalid ${curve.crv} public key point`, {
      cause: failure,
    });
  }
  const x = uncompressed.subarray(1, 1 + curve.size);
  const y = uncompressed.subarray(1 + curve.size);
  const publicKey = createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
  return { publicKey, algorithm: curve.algorithm, curve, signatureLength: 2 * curve.size };
}

const RSA_SIZES = [2048, 3072, 4096];

/** The public key of an RSA key pair from CKA_MODULUS and CKA_PUBLIC_EXPONENT (big-endian bytes). */
export function rsaPublicKey(modulus: Buffer, exponent: Buffer): TokenPublicKey {
  const publicKey = createPublicKey({ key: { kty: 'RSA', n: b64url(modulus), e: b64url(exponent) }, format: 'jwk' });
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (!RSA_SIZES.includes(bits)) throw unsupported(`the RSA key has ${bits} bits`);
  return { publicKey, algorithm: `rsa-sign-pkcs1-${bits}-sha256` as SigningAlgorithm, signatureLength: bits / 8 };
}

function attributes(lib: Pkcs11Lib, session: Pkcs11Handle, object: Pkcs11Handle, types: number[]): Buffer[] {
  return lib
    .C_GetAttributeValue(
      session,
      object,
      types.map((type) => ({ type })),
    )
    .map((a) => a.value);
}

function findObjects(lib: Pkcs11Lib, session: Pkcs11Handle, template: pkcs11js.Template, max: number): Pkcs11Handle[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, max);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

function keyTemplate(objectClass: number, label: string | undefined, id: Uint8Array | undefined): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: objectClass },
    ...(label !== undefined ? [{ type: pkcs11js.CKA_LABEL, value: label }] : []),
    ...(id !== undefined && id.length > 0 ? [{ type: pkcs11js.CKA_ID, value: Buffer.from(id) }] : []),
  ];
}

/** A CKA_ID as people read it: 01:02:ff. */
export const hexId = (id: Uint8Array) =>
  Buffer.from(id)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1:');

function keyText(uri: Pkcs11Uri): string {
  const parts = [
    uri.object !== undefined ? `label "${uri.object}"` : '',
    uri.id !== undefined ? `id ${hexId(uri.id)}` : '',
  ];
  return parts.filter(Boolean).join(' and ');
}

/** Labels and ids of the private keys on the token, so a typo in the URI can be spotted. */
function listPrivateKeys(lib: Pkcs11Lib, session: Pkcs11Handle): string {
  const keys = findObjects(lib, session, keyTemplate(pkcs11js.CKO_PRIVATE_KEY, undefined, undefined), 20);
  return keys
    .map((key) => {
      const [label = Buffer.alloc(0), id = Buffer.alloc(0)] = attributes(lib, session, key, [
        pkcs11js.CKA_LABEL,
        pkcs11js.CKA_ID,
      ]);
      return `"${label.toString('utf8')}" (id ${hexId(id) || 'none'})`;
    })
    .join(', ');
}

// Asked on its own: PKCS#11 v2.11 modules do not know the attribute and would fail the whole query.
function readAlwaysAuthenticate(lib: Pkcs11Lib, session: Pkcs11Handle, key: Pkcs11Handle): boolean {
  try {
    const [value] = attributes(lib, session, key, [pkcs11js.CKA_ALWAYS_AUTHENTICATE]);
    return value !== undefined && value.length > 0 && value[0] !== 0;
  } catch {
    return false;
  }
}

export interface TokenKey extends TokenPublicKey {
  readonly privateKey: Pkcs11Handle;
  /** CKA_ALWAYS_AUTHENTICATE: the PIN must be given again for every signature (PIV signing keys). */
  readonly alwaysAuthenticate: boolean;
}

/** The private key the URI names and the public key that belongs to it. */
export function findKeyPair(lib: Pkcs11Lib, session: Pkcs11Handle, uri: Pkcs11Uri, tokenLabel: string): TokenKey {
  try {
    if (uri.type !== undefined && uri.type !== 'private' && uri.type !== 'public') {
      throw new AirlockError('E_PKCS11', `the pkcs11 URI names a ${uri.type} object; airlock signs with a key pair`, {
        hint: 'drop type= from the URI, or use type=private',
      });
    }
    const privates = findObjects(lib, session, keyTemplate(pkcs11js.CKO_PRIVATE_KEY, uri.object, uri.id), 2);
    const [privateKey, second] = privates;
    if (!privateKey) {
      const present = listPrivateKeys(lib, session);
      throw new AirlockError('E_PKCS11', `no private key with ${keyText(uri)} on token "${tokenLabel}"`, {
        hint: present ? `private keys on the token: ${present}` : 'the token holds no private key visible after login',
      });
    }
    if (second) {
      throw new AirlockError('E_PKCS11', `more than one private key with ${keyText(uri)} on token "${tokenLabel}"`, {
        hint: 'name the key by both object= and id=',
      });
    }
    const [keyType = Buffer.alloc(0), privId = Buffer.alloc(0)] = attributes(lib, session, privateKey, [
      pkcs11js.CKA_KEY_TYPE,
      pkcs11js.CKA_ID,
    ]);
    // The pair shares CKA_ID (PKCS#11's link between the halves); the label narrows it when given.
    const [publicObject] = findObjects(
      lib,
      session,
      keyTemplate(pkcs11js.CKO_PUBLIC_KEY, uri.object, uri.id ?? privId),
      1,
    );
    if (!publicObject) {
      throw new AirlockError(
        'E_PKCS11',
        `the private key with ${keyText(uri)} on token "${tokenLabel}" has no public key object`,
        {
          hint:
            'airlock needs the public half on the token (same label and CKA_ID); import it, e.g. ' +
            'pkcs11-tool --write-object key.pub.der --type pubkey',
        },
      );
    }
    const type = Number(readUlong(keyType));
    const alwaysAuthenticate = readAlwaysAuthenticate(lib, session, privateKey);
    if (type === pkcs11js.CKK_EC) {
      const [params = Buffer.alloc(0), point = Buffer.alloc(0)] = attributes(lib, session, publicObject, [
        pkcs11js.CKA_EC_PARAMS,
        pkcs11js.CKA_EC_POINT,
      ]);
      return { ...ecPublicKey(params, point), privateKey, alwaysAuthenticate };
    }
    if (type === pkcs11js.CKK_RSA) {
      const [n = Buffer.alloc(0), e = Buffer.alloc(0)] = attributes(lib, session, publicObject, [
        pkcs11js.CKA_MODULUS,
        pkcs11js.CKA_PUBLIC_EXPONENT,
      ]);
      return { ...rsaPublicKey(n, e), privateKey, alwaysAuthenticate };
    }
    throw unsupported(`the key with ${keyText(uri)} has PKCS#11 key type 0x${type.toString(16)}`);
  } catch (err) {
    throw pkcs11Failure(err, 'find the key', tokenLabel);
  }
}
