// Loading keys from PEM text in every form users bring: cosign/sigstore encrypted keys, PKCS#8 (plain
// or PBES2-encrypted), SEC1, PKCS#1, and public keys (SPKI, PKCS#1). Which algorithm a key signs with
// is decided here, once, from the key itself.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import { decryptCosignKey, isEncryptedCosignPem } from './cosign-key.ts';
import { parsePemBlocks } from './pem.ts';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './signer.ts';

export type PasswordSource = (prompt: { what: string }) => Promise<Uint8Array>;

export interface LoadedPrivateKey {
  readonly privateKey: KeyObject;
  /** False for plain PEM keys: callers warn that the key sits unencrypted on disk. */
  readonly encrypted: boolean;
}

const PRIVATE_PEM_TYPES = ['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY'];

/** Parses any supported private-key PEM; asks `password` only when the key is encrypted. */
export async function loadPrivateKeyPem(
  text: string,
  what: string,
  password: PasswordSource,
): Promise<LoadedPrivateKey> {
  if (isEncryptedCosignPem(text)) {
    const der = await decryptCosignKey(text, await password({ what }), what);
    try {
      return { privateKey: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), encrypted: true };
    } catch (err) {
      // cosign refuses SEC1 inside its envelope too ("use ParseECPrivateKey instead").
      throw new AirlockError('E_KEY_UNSUPPORTED', `${what}: the decrypted key is not PKCS#8`, { cause: err });
    }
  }
  const type = parsePemBlocks(text)[0]?.type;
  if (type === 'ENCRYPTED PRIVATE KEY') {
    const pass = Buffer.from(await password({ what }));
    try {
      return { privateKey: createPrivateKey({ key: text, format: 'pem', passphrase: pass }), encrypted: true };
    } catch (err) {
      throw new AirlockError('E_KEY_PASSWORD', `${what}: wrong password for the encrypted PKCS#8 key`, { cause: err });
    }
  }
  if (type === undefined || !PRIVATE_PEM_TYPES.includes(type)) {
    const found = type ? `a ${type} block` : 'no PEM block';
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: expected a private key, found ${found}`, {
      hint: type?.includes('PUBLIC') ? 'signing needs the private key (.key), not the public key (.pub)' : undefined,
    });
  }
  try {
    return { privateKey: createPrivateKey(text), encrypted: false };
  } catch (err) {
    throw new AirlockError('E_KEY_UNSUPPORTED', `${what}: cannot parse ${type}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** A public key from PEM text: SPKI / PKCS#1 public keys, or the public half of a private key. */
export async function loadPublicKeyPem(text: string, what: string, password: PasswordSource): Promise<KeyObject> {
  const type = parsePemBlocks(text)[0]?.type;
  if (type === 'PUBLIC KEY' || type === 'RSA PUBLIC KEY') {
    try {
      return createPublicKey(text);
    } catch (err) {
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: cannot parse public key: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  if (type === 'CERTIFICATE') {
    try {
      return createPublicKey(text);
    } catch (err) {
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: cannot parse certificate`, { cause: err });
    }
  }
  const { privateKey } = await loadPrivateKeyPem(text, what, password);
  return createPublicKey(privateKey);
}

/** The signing algorithm a key implies; `preferred` may pick PSS for an RSA key. */
export function signingAlgorithmFor(key: KeyObject, preferred?: SigningAlgorithm): SigningAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  let algorithm: SigningAlgorithm;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1') algorithm = 'ecdsa-sha2-256-nistp256';
      else if (details.namedCurve === 'secp384r1') algorithm = 'ecdsa-sha2-384-nistp384';
      else throw unsupported(`ECDSA curve ${details.namedCurve}`);
      break;
    case 'ed25519':
      algorithm = 'ed25519';
      break;
    case 'rsa':
    case 'rsa-pss': {
      const bits = details.modulusLength ?? 0;
      if (![2048, 3072, 4096].includes(bits)) throw unsupported(`RSA key size ${bits}`);
      const padding = key.asymmetricKeyType === 'rsa-pss' || preferred?.startsWith('rsa-sign-pss') ? 'pss' : 'pkcs1';
      algorithm = `rsa-sign-${padding}-${bits}-sha256` as SigningAlgorithm;
      break;
    }
    default:
      throw unsupported(`key type ${key.asymmetricKeyType}`);
  }
  if (preferred && preferred !== algorithm) {
    throw new AirlockError('E_USAGE', `--signing-algorithm ${preferred} does not fit this key (it signs ${algorithm})`);
  }
  return algorithm;
}

function unsupported(what: string): AirlockError {
  return new AirlockError('E_KEY_UNSUPPORTED', `${what} is not supported`, {
    hint: 'airlock signs with ECDSA P-256/P-384, Ed25519, or RSA 2048–4096',
  });
}

export function isSigningAlgorithm(name: string): name is SigningAlgorithm {
  return Object.hasOwn(SIGNING_ALGORITHMS, name);
}

// Exporting a key is costly next to one signature; signing many files reuses these per KeyObject.
const spkiCache = new WeakMap<KeyObject, Buffer>();

export function spkiDer(key: KeyObject): Buffer {
  let der = spkiCache.get(key);
  if (!der) {
    der = key.export({ type: 'spki', format: 'der' });
    spkiCache.set(key, der);
  }
  return der;
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** cosign's key hint: base64(SHA-256(SPKI DER)); also the key's fingerprint in reports. */
export function keyHint(key: KeyObject): string {
  return createHash('sha256').update(spkiDer(key)).digest('base64');
}

/** Hex SHA-256 of the SPKI, the fingerprint shown to humans. */
export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(spkiDer(key)).digest('hex')}`;
}
