// Reading an installed trust root for verification and status. The file is checked against the
// hash recorded at import (a root edited in place is refused), and a break-glass root is refused
// after its deadline and announced before it.
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';
import { pathExists } from '../files/atomic-write.ts';
import { MAX_INPUT_FILE, readFileBounded, readOptionalText } from '../files/read-file.ts';
import { checkStateDir } from '../files/state-dir.ts';
import { MAX_TRUSTED_ROOT_BYTES } from '../sigstore/limits.ts';
import { type LoadedTrustedRoot, parseTrustedRoot } from '../sigstore/trusted-root.ts';
import { type InstallRecord, trustDir } from './install.ts';

export interface InstalledTrustRoot {
  readonly loaded: LoadedTrustedRoot;
  readonly install: InstallRecord;
  /** Messages every verification using this root must show (break-glass). */
  readonly warnings: readonly string[];
}

/**
 * Names of the folders under trust/ (or another folder of installs, such as vulndb/): [] when there is
 * none yet; an unusable $AIRLOCK_HOME says so.
 */
export async function listInstalledNames(stateDir: string, folder = 'trust'): Promise<string[]> {
  await checkStateDir(stateDir);
  const dir = join(stateDir, folder);
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromFsError(err, dir, 'list');
  }
}

/**
 * The install record of trust root `name`, undefined when none is installed under that name. What
 * cannot be read for another reason than its absence is not a verdict on the root: an unusable
 * $AIRLOCK_HOME, or an I/O error, is E_IO; only a record that reads but does not parse is corrupt.
 */
export async function readInstallRecord(stateDir: string, name: string): Promise<InstallRecord | undefined> {
  await checkStateDir(stateDir);
  const path = join(trustDir(stateDir, name), 'current', 'install.json');
  // ENOTDIR below a usable $AIRLOCK_HOME: trust/NAME or current is a file, not what import makes.
  const text = await readOptionalText(path, 'a trust root install record', MAX_INPUT_FILE, (f) =>
    f.systemCode === 'ENOTDIR'
      ? new AirlockError('E_TRUST_ROOT', `${path} is corrupt: ${f.reason}`, { cause: f.error.cause })
      : f.error,
  );
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as InstallRecord;
  } catch (err) {
    throw new AirlockError('E_TRUST_ROOT', `${path} is corrupt: ${(err as Error).message}`, { cause: err });
  }
}

export interface InstalledFiles {
  readonly install: InstallRecord;
  /** trusted_root.json as installed (its sha256 checked against the install record). */
  readonly bytes: Buffer;
  readonly loaded: LoadedTrustedRoot;
}

/**
 * The files of trust root `name`, checked: undefined when no root was ever installed under that name.
 * One that was (its state.json is there) but whose current install, trusted_root.json or record is
 * gone, changed or unreadable as JSON is E_TRUST_ROOT: never read as empty.
 */
export async function readInstalledFiles(stateDir: string, name: string): Promise<InstalledFiles | undefined> {
  const install = await readInstallRecord(stateDir, name);
  const path = join(trustDir(stateDir, name), 'current', 'trusted_root.json');
  if (!install) {
    if (!(await pathExists(join(trustDir(stateDir, name), 'state.json')))) return undefined;
    throw new AirlockError(
      'E_TRUST_ROOT',
      `trust root '${name}' was imported, but it has no current install (${dirname(path)} is missing)`,
      { hint: 'import the trust root again from a verified mirror' },
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFileBounded(path, MAX_TRUSTED_ROOT_BYTES, 'a trusted root');
  } catch (err) {
    // install.json says a root is installed: its trusted_root.json missing is a broken install.
    if (err instanceof AirlockError && err.code === 'E_INPUT_MISSING')
      throw new AirlockError('E_TRUST_ROOT', `trust root '${name}' is installed, but ${path} is missing`, {
        cause: err,
        hint: 'import the trust root again from a verified mirror',
      });
    throw err;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== install.trustedRootSha256) {
    throw new AirlockError(
      'E_TRUST_ROOT',
      `${path} was changed after import (sha256 ${sha256}, imported ${install.trustedRootSha256})`,
      {
        hint: 'import the trust root again from a verified mirror',
      },
    );
  }
  return { install, bytes, loaded: parseTrustedRoot(bytes, `trust root '${name}'`) };
}

export async function loadInstalledTrustRoot(
  stateDir: string,
  name: string,
  now: Date,
): Promise<InstalledTrustRoot | undefined> {
  const files = await readInstalledFiles(stateDir, name);
  if (!files) return undefined;
  const { install, loaded } = files;
  const warnings: string[] = [];
  if (install.breakGlass) {
    const until = new Date(install.breakGlass.until);
    if (now.getTime() > until.getTime()) {
      throw new AirlockError(
        'E_BREAK_GLASS',
        `trust root '${name}' was installed by break-glass until ${install.breakGlass.until}; that deadline has passed`,
        {
          hint: 'import a fresh mirror (airlock trust import)',
        },
      );
    }
    warnings.push(
      `trust root '${name}' is a BREAK-GLASS install ` +
        `(${install.breakGlass.expiredRoles.join(', ')} expired; reason: ` +
        `${install.breakGlass.reason}), valid only until ${install.breakGlass.until}`,
    );
  }
  return { loaded, install, warnings };
}
