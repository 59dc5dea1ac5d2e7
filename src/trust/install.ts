// `airlock trust import` (air-gapped side): re-verify a mirror from the pinned root, judge freshness,
// refuse rollbacks against what was trusted before, then install the trust root atomically as a named
// root under $AIRLOCK_HOME/trust/NAME, keeping the previous one:
//   trust/NAME/state.json          highest versions ever trusted (rollback protection across imports)
//   trust/NAME/installs/ID/        trusted_root.json, signing configs, the TUF metadata, install.json
//   trust/NAME/current -> installs/ID, trust/NAME/previous -> installs/ID'   (symlinks, swapped by rename)
import { randomBytes } from 'node:crypto';
import { readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AirlockError, type ErrorCode, fromFsError } from '../errors.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { MAX_INPUT_FILE, readOptionalText } from '../files/read-file.ts';
import { checkStateDir, makeDirs, makeStateDir } from '../files/state-dir.ts';
import { parseTrustedRoot } from '../sigstore/trusted-root.ts';
import type { Recorder } from '../recorder.ts';
import { bounded } from '../text.ts';
import { applyFreshness, type BreakGlass, type FreshnessPolicy, type RoleFreshness } from './freshness.ts';
import { mirrorFiles, wantSigstoreTarget } from './mirror.ts';
import { directorySource } from './tuf-source.ts';
import { TOP_LEVEL_ROLES, type Versions, verifyRepository } from './tuf-verify.ts';

export const INSTALL_FORMAT = 'airlock-trust-install/v1';

export interface InstallRecord {
  readonly format: string;
  readonly name: string;
  readonly importedAt: string;
  readonly source: string;
  readonly pinnedRootVersion: number;
  readonly graceDays: number;
  readonly roles: readonly RoleFreshness[];
  readonly trustedRootSha256: string;
  readonly breakGlass?: { readonly reason: string; readonly until: string; readonly expiredRoles: readonly string[] };
}

export function trustDir(stateDir: string, name: string): string {
  return join(stateDir, 'trust', name);
}

/** A name installs are kept under (a trust root's, a vulnerability database's): E_USAGE unless it is a safe one. */
export function validateTrustName(name: string, what = 'trust root'): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name))
    throw new AirlockError('E_USAGE', `invalid ${what} name '${bounded(name, 80)}'`);
  return name;
}

/**
 * A JSON state file of an install (trust/, vulndb/), undefined when it does not exist. Failing to read
 * is no verdict on what is there (an EACCES, an I/O error); not parsing is: `corrupt` (E_TRUST_ROOT).
 */
export async function readStateJson<T>(
  path: string,
  what = 'a trust root file',
  corrupt: ErrorCode = 'E_TRUST_ROOT',
): Promise<T | undefined> {
  const text = await readOptionalText(path, what, MAX_INPUT_FILE, (f) =>
    f.systemCode === 'ENOTDIR'
      ? new AirlockError(corrupt, `${path} is unreadable or corrupt: ${f.reason}`, { cause: f.error.cause })
      : f.error,
  );
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AirlockError(corrupt, `${path} is corrupt: ${(err as Error).message}`, { cause: err });
  }
}

export async function readTrustedVersions(stateDir: string, name: string): Promise<Versions> {
  return (await readStateJson<{ versions: Versions }>(join(trustDir(stateDir, name), 'state.json')))?.versions ?? {};
}

/** Points `link` at `target` atomically (a new symlink renamed over the old one). */
export async function swapSymlink(target: string, link: string): Promise<void> {
  const tmp = `${link}.tmp-${randomBytes(4).toString('hex')}`;
  await symlink(target, tmp);
  await rename(tmp, link);
}

export interface ImportOptions {
  readonly mirrorDir: string;
  readonly pinnedRoot: Uint8Array;
  readonly name: string;
  readonly stateDir: string;
  readonly now: Date;
  readonly policy: FreshnessPolicy;
  /** Records the decision (the audit trail); nothing is recorded without it. */
  readonly record?: Recorder;
}

export async function importTrustRoot(options: ImportOptions): Promise<InstallRecord> {
  const { stateDir, now, policy } = options;
  const name = validateTrustName(options.name);
  const dir = trustDir(stateDir, name);
  await checkStateDir(stateDir);
  const previous = await readTrustedVersions(stateDir, name);
  const source = await directorySource(options.mirrorDir);
  const record = async (result: 'installed' | 'refused', extra: Record<string, unknown>) => {
    const { code, reason, ...details } = extra;
    await options.record?.({
      action: policy.breakGlass ? 'trust.break-glass' : 'trust.import',
      result: result === 'installed' ? 'ok' : 'refused',
      subjects: [{ name }],
      ...(code ? { reason: `${String(code)}: ${String(reason)}` } : {}),
      details: { mirror: options.mirrorDir, ...details },
    });
  };
  let roles: RoleFreshness[];
  let repo: Awaited<ReturnType<typeof verifyRepository>>;
  try {
    repo = await verifyRepository(source, options.pinnedRoot, {
      wantTarget: wantSigstoreTarget,
      requiredTargets: ['trusted_root.json'],
      previous,
    });
    roles = applyFreshness(repo.roles, now, policy);
  } catch (err) {
    if (err instanceof AirlockError) await record('refused', { code: err.code, reason: err.message });
    throw err;
  }
  const trustedRoot = repo.files.find((f) => f.name === 'trusted_root.json');
  if (!trustedRoot) throw new AirlockError('E_TUF_MALFORMED', 'no trusted_root.json in the verified targets');
  parseTrustedRoot(trustedRoot.bytes, `${options.mirrorDir} trusted_root.json`); // the same checks verification applies
  const expired = roles
    .filter((r) => r.status === 'expired-accepted-by-break-glass')
    .map((r) => `${r.role} v${r.version}`);
  const breakGlass: BreakGlass | undefined = expired.length > 0 ? policy.breakGlass : undefined;
  const install: InstallRecord = {
    format: INSTALL_FORMAT,
    name,
    importedAt: now.toISOString(),
    source: repo.source,
    pinnedRootVersion: repo.pinnedRootVersion,
    graceDays: policy.graceDays,
    roles,
    trustedRootSha256: trustedRoot.sha256,
    ...(breakGlass
      ? { breakGlass: { reason: breakGlass.reason, until: breakGlass.until.toISOString(), expiredRoles: expired } }
      : {}),
  };
  const id = `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const installDir = await makeStateDir(stateDir, 'trust', name, 'installs', id);
  try {
    for (const [path, bytes] of mirrorFiles(repo, options.pinnedRoot, repo.pinnedRootVersion)) {
      await makeDirs(dirname(join(installDir, path)));
      await writeFileAtomic(join(installDir, path), bytes);
    }
    for (const file of repo.files) await writeFileAtomic(join(installDir, file.name.replace(/\//g, '_')), file.bytes);
    await writeFileAtomic(join(installDir, 'install.json'), `${JSON.stringify(install, null, 2)}\n`);
    const versions = Object.fromEntries(
      TOP_LEVEL_ROLES.map((r) => [r, Math.max(previous[r] ?? 0, repo.roles.find((x) => x.role === r)?.version ?? 0)]),
    );
    await writeFileAtomic(join(dir, 'state.json'), `${JSON.stringify({ versions }, null, 2)}\n`, { overwrite: true });
    const old = await readlink(join(dir, 'current')).catch(() => undefined);
    if (old) await swapSymlink(old, join(dir, 'previous'));
    await swapSymlink(join('installs', id), join(dir, 'current'));
  } catch (err) {
    await rm(installDir, { recursive: true, force: true });
    throw err instanceof AirlockError ? err : fromFsError(err, installDir, 'write');
  }
  await record('installed', {
    versions: Object.fromEntries(repo.roles.map((r) => [r.role, r.version])),
    ...(install.breakGlass ? { breakGlass: install.breakGlass } : {}),
  });
  return install;
}
