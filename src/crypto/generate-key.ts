// `airlock key generate`: a new key pair in cosign's files: NAME.key (encrypted, mode 0600) and
// NAME.pub (SPKI PEM). Existing files are never overwritten unless asked.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import { pathExists, writeFileAtomic } from '../files/atomic-write.ts';
import { encryptCosignKey } from './cosign-key.ts';
import { publicKeyPem } from './keys.ts';

export const KEY_ALGORITHMS = ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export function generatePrivateKey(algorithm: KeyAlgorithm): KeyObject {
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return generateKeyPairSync('rsa', { modulusLength: Number(algorithm.slice(4)) }).privateKey;
  }
}

export interface GeneratedKeyFiles {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly publicKey: KeyObject;
}

export async function writeKeyPair(
  prefix: string,
  privateKey: KeyObject,
  password: Uint8Array,
  options: { force?: boolean; random?: (n: number) => Uint8Array } = {},
): Promise<GeneratedKeyFiles> {
  const privateKeyPath = `${prefix}.key`;
  const publicKeyPath = `${prefix}.pub`;
  const force = options.force ?? false;
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (!force && (await pathExists(path))) {
      throw new AirlockError('E_OUTPUT_EXISTS', `${path} already exists`, { hint: 'pass --force to overwrite it' });
    }
  }
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const encrypted = await encryptCosignKey(pkcs8, password, options.random ? { random: options.random } : {});
  const publicKey = createPublicKey(privateKey);
  await writeFileAtomic(privateKeyPath, encrypted, { mode: 0o600, overwrite: force });
  await writeFileAtomic(publicKeyPath, publicKeyPem(publicKey), { mode: 0o644, overwrite: force });
  return { privateKeyPath, publicKeyPath, publicKey };
}
