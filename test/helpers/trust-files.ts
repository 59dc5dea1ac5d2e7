// Small trust files for unit tests of the verifying commands' flag groups: a public key, and a
// trusted_root.json naming one log.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTrustedRoot, type TrustedRootJson } from '../../src/trust/create-trusted-root.ts';

/** Writes NAME.pub (SPKI PEM) in `dir`; returns its path and key. */
export async function writePublicKey(dir: string, name: string): Promise<{ path: string; key: KeyObject }> {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const path = join(dir, `${name}.pub`);
  await writeFile(path, key.export({ type: 'spki', format: 'pem' }));
  return { path, key };
}

/** A trusted root with one Ed25519 Rekor v2 log (rekor.internal), as `trust create` writes it. */
export function oneLogTrustedRoot(): TrustedRootJson {
  const key = generateKeyPairSync('ed25519').publicKey;
  return createTrustedRoot({
    tlogs: [
      {
        publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
        baseUrl: 'https://rekor.internal',
        origin: 'rekor.internal',
        validFor: { start: new Date('2026-01-01T00:00:00Z') },
      },
    ],
  });
}

/** Writes oneLogTrustedRoot() as `file` in `dir`; returns its path. */
export async function writeTrustedRoot(dir: string, file = 'trusted_root.json'): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, JSON.stringify(oneLogTrustedRoot()));
  return path;
}
