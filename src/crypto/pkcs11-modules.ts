// Where PKCS#11 modules usually live on Debian/Ubuntu/Fedora, so `doctor` and `pkcs11:` URIs without
// module-path= can find SoftHSM2 (or OpenSC) without configuration.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

export const WELL_KNOWN_PKCS11_MODULES: readonly string[] = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so',
  '/usr/lib64/opensc-pkcs11.so',
];

/** The configured module if readable, else the first well-known module that exists. */
export async function findPkcs11Module(configured: string | undefined): Promise<string | undefined> {
  const candidates = configured ? [configured] : WELL_KNOWN_PKCS11_MODULES;
  for (const path of candidates) {
    try {
      await access(path, constants.R_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}
