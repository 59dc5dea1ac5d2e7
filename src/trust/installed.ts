// Reading an installed trust root for verification and status. The file is checked against the
// hash recorded at import (a root edited in place is refused), and a break-glass root is refused
// after its deadline and announced before it.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';
import { type LoadedTrustedRoot, parseTrustedRoot } from '../sigstore/trusted-root.ts';
import { type InstallRecord, trustDir } from './install.ts';

export interface InstalledTrustRoot {
  readonly loaded: LoadedTrustedRoot;
  readonly install: InstallRecord;
  /** Messages every verification using this root must show (break-glass). */
  readonly warnings: readonly string[];
}

export async function listInstalledNames(stateDir: string): Promise<string[]> {
  try {
    return (await readdir(join(stateDir, 'trust'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

export async function readInstallRecord(stateDir: string, name: string): Promise<InstallRecord | undefined> {
  const path = join(trustDir(stateDir, name), 'current', 'install.json');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as InstallRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AirlockError('E_TRUST_ROOT', `${path} is corrupt: ${(err as Error).message}`, { cause: err });
  }
}

export async function loadInstalledTrustRoot(stateDir: string, name: string, now: Date): Promise<InstalledTrustRoot | undefined> {
  const install = await readInstallRecord(stateDir, name);
  if (!install) return undefined;
  const path = join(trustDir(stateDir, name), 'current', 'trusted_root.json');
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw fromFsError(err, path);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== install.trustedRootSha256) {
    throw new AirlockError('E_TRUST_ROOT', `${path} was changed after import (sha256 ${sha256}, imported ${install.trustedRootSha256})`, {
      hint: 'import the trust root again from a verified mirror',
    });
  }
  const warnings: string[] = [];
  if (install.breakGlass) {
    const until = new Date(install.breakGlass.until);
    if (now.getTime() > until.getTime()) {
      throw new AirlockError('E_BREAK_GLASS', `trust root '${name}' was installed by break-glass until ${install.breakGlass.until}; that deadline has passed`, {
        hint: 'import a fresh mirror (airlock trust import)',
      });
    }
    warnings.push(
      `trust root '${name}' is a BREAK-GLASS install (${install.breakGlass.expiredRoles.join(', ')} expired; reason: ${install.breakGlass.reason}), valid only until ${install.breakGlass.until}`,
    );
  }
  return { loaded: parseTrustedRoot(bytes, `trust root '${name}'`), install, warnings };
}
