// cosign's encrypted private-key format (docs: shared/design/notes/cosign-formats.md §1.2), read and
// written byte-compatibly with go-securesystemslib `encrypted`:
//   PEM "ENCRYPTED COSIGN PRIVATE KEY" | "ENCRYPTED SIGSTORE PRIVATE KEY"
//   body = base64(JSON {kdf: scrypt(N, r=8, p=1, 32-byte salt), cipher: nacl/secretbox(24-byte nonce),
//                       ciphertext: tag ‖ XSalsa20(PKCS#8 DER)})
import { randomBytes, scrypt } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { AirlockError } from '../errors.ts';
import { encodePem, parseSinglePem } from './pem.ts';

export const COSIGN_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';
export const SIGSTORE_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const ENCRYPTED_PEM_TYPES: readonly string[] = [COSIGN_PEM_TYPE, SIGSTORE_PEM_TYPE];

/** The parameter sets Go's CheckParams accepts; anything else is refused as Go does. */
const ACCEPTED_SCRYPT_N: ReadonlySet<number> = new Set([32768, 65536, 131072]);
/** Writing uses the legacy N every cosign and containers/image version reads. */
export const WRITE_SCRYPT_N = 32768;

interface EncryptedKeyJson {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function scryptKey(password: Uint8Array, salt: Uint8Array, N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) is below what N=65536 needs (128·N·r bytes).
    scrypt(password, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Go's encoding/json matches keys case-insensitively; so do we, so cosign-written files load. */
function field(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : (obj as Record<string, unknown>)[key];
}

function b64Field(obj: unknown, name: string, what: string): Buffer {
  const v = field(obj, name);
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: field ${name} is missing or not base64`);
  }
  return Buffer.from(v, 'base64');
}

export function isEncryptedCosignPem(text: string): boolean {
  return ENCRYPTED_PEM_TYPES.some((t) => text.includes(`-----BEGIN ${t}-----`));
}

/** Decrypts a cosign/sigstore encrypted key to its PKCS#8 DER. Wrong password → E_KEY_PASSWORD. */
export async function decryptCosignKey(pemText: string, password: Uint8Array, what = 'private key'): Promise<Buffer> {
  const block = parseSinglePem(pemText, what);
  if (!ENCRYPTED_PEM_TYPES.includes(block.type)) {
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: PEM type ${block.type} is not an encrypted cosign key`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(block.der.toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: encrypted key body is not JSON`, { cause: err });
  }
  const kdf = field(doc, 'kdf');
  const cipher = field(doc, 'cipher');
  const params = field(kdf, 'params');
  const [N, r, p] = ['N', 'r', 'p'].map((k) => field(params, k));
  if (field(kdf, 'name') !== 'scrypt' || field(cipher, 'name') !== 'nacl/secretbox') {
    throw new AirlockError('E_KEY_UNSUPPORTED', `${what}: only scrypt + nacl/secretbox keys are supported`);
  }
  if (typeof N !== 'number' || !ACCEPTED_SCRYPT_N.has(N) || r !== 8 || p !== 1) {
    throw new AirlockError('E_KEY_UNSUPPORTED', `${what}: unsupported scrypt parameters N=${N} r=${r} p=${p}`, {
      hint: 'cosign keys use N of 32768, 65536 or 131072 with r=8, p=1',
    });
  }
  const salt = b64Field(kdf, 'salt', what);
  const nonce = b64Field(cipher, 'nonce', what);
  const ciphertext = b64Field(doc, 'ciphertext', what);
  if (nonce.length !== 24) throw new AirlockError('E_INPUT_MALFORMED', `${what}: nonce must be 24 bytes`);
  const key = await scryptKey(password, salt, N);
  try {
    return Buffer.from(xsalsa20poly1305(key, nonce).decrypt(ciphertext));
  } catch (err) {
    throw new AirlockError('E_KEY_PASSWORD', `${what}: wrong password (the key could not be decrypted)`, {
      cause: err,
      hint: 'set AIRLOCK_PASSWORD or COSIGN_PASSWORD, or pass --password-file',
    });
  }
}

export interface EncryptOptions {
  /** Randomness for salt and nonce, injectable for deterministic tests. */
  random?: (n: number) => Uint8Array;
  N?: number;
  pemType?: string;
}

/** Encrypts PKCS#8 DER into cosign's format, byte-for-byte as Go's json.Marshal lays it out. */
export async function encryptCosignKey(
  pkcs8Der: Uint8Array,
  password: Uint8Array,
  options: EncryptOptions = {},
): Promise<string> {
  const random = options.random ?? randomBytes;
  const N = options.N ?? WRITE_SCRYPT_N;
  const salt = Buffer.from(random(32));
  const nonce = Buffer.from(random(24));
  const key = await scryptKey(password, salt, N);
  const ciphertext = Buffer.from(xsalsa20poly1305(key, nonce).encrypt(pkcs8Der));
  const doc: EncryptedKeyJson = {
    kdf: { name: 'scrypt', params: { N, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: ciphertext.toString('base64'),
  };
  return encodePem(options.pemType ?? COSIGN_PEM_TYPE, Buffer.from(JSON.stringify(doc)));
}
