// `vulndb import` (air-gapped side), laid out as trust roots are (trust/install.ts):
//   vulndb/NAME/state.json             the newest build time ever installed (rollback protection)
//   vulndb/NAME/installs/ID/           vuln.db (a private copy) and install.json
//   vulndb/NAME/current, previous      symlinks to installs/ID, swapped by rename
// The database is copied in first and the copy verified, so what is checked is what is installed.
// The decision is recorded in the audit trail before the `current` link moves (write-ahead).
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { copyFile, readdir, readlink, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFile } from '../../crypto/digest.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { writeFileAtomic } from '../../files/atomic-write.ts';
import { checkStateDir, makeStateDir } from '../../files/state-dir.ts';
import { type AuditRecord, type Recorder, recordBeforeEffect } from '../../recorder.ts';
import { bounded } from '../../text.ts';
import type { BreakGlass } from '../../trust/freshness.ts';
import { readStateJson as readTrustStateJson, swapSymlink, validateTrustName } from '../../trust/install.ts';
import { applyVulnDbFreshness, checkMaxAge, DEFAULT_MAX_AGE_DAYS } from './freshness.ts';
import { verifyVulnDb, type VerifiedVulnDb } from './verify.ts';

export const VULNDB_INSTALL_FORMAT = 'airlock-vulndb-install/v1';
export const DEFAULT_VULNDB_NAME = 'default';
export const VULNDB_FILE = 'vuln.db';

export interface VulnDbInstall {
  readonly format: string;
  readonly name: string;
  readonly importedAt: string;
  readonly built: string;
  readonly maxAgeDays: number;
  readonly records: number;
  readonly ecosystems: Readonly<Record<string, number>>;
  readonly contentSha256: string;
  /** sha256 of the installed file: a database changed in place is refused when used. */
  readonly fileSha256: string;
  /** Fingerprint of the key whose signature verified. */
  readonly signer: string;
  readonly source: string;
  readonly breakGlass?: { readonly reason: string; readonly until: string };
}

export interface ImportVulnDbOptions {
  readonly keys: readonly KeyObject[];
  readonly name?: string;
  readonly maxAgeDays?: number;
  readonly now: Date;
  readonly stateDir: string;
  readonly breakGlass?: BreakGlass;
  /** Records the decision (the audit trail); nothing is recorded without it. */
  readonly record?: Recorder;
}

export interface ImportVulnDbResult {
  readonly install: VulnDbInstall;
  /** The same build was installed already: nothing changed. */
  readonly unchanged: boolean;
  /** Days until it stops being accepted, and whether it warns already. */
  readonly state: 'ok' | 'warn' | 'expired';
  readonly daysLeft: number;
}

export function vulnDbDir(stateDir: string, name: string): string {
  return join(stateDir, 'vulndb', name);
}

export function validateVulnDbName(name: string): string {
  return validateTrustName(name, 'vulnerability database');
}

const readStateJson = <T>(path: string) =>
  readTrustStateJson<T>(path, 'a vulnerability database record', 'E_VULNDB_TAMPERED');

/** The install record of database `name`, undefined when none is installed under that name. */
export async function readVulnDbInstall(stateDir: string, name: string): Promise<VulnDbInstall | undefined> {
  await checkStateDir(stateDir);
  return readStateJson<VulnDbInstall>(join(vulnDbDir(stateDir, name), 'current', 'install.json'));
}

async function newestBuilt(stateDir: string, name: string): Promise<string | undefined> {
  const state = await readStateJson<{ built?: string }>(join(vulnDbDir(stateDir, name), 'state.json'));
  const current = await readVulnDbInstall(stateDir, name);
  const times = [state?.built, current?.built].filter((t): t is string => typeof t === 'string');
  return times.sort((a, b) => Date.parse(b) - Date.parse(a))[0];
}

/** E_VULNDB_ROLLBACK for a database built before the newest installed; true when it is that same build. */
function checkRollback(name: string, built: string, newest: string | undefined, sameContent: boolean): boolean {
  if (newest === undefined) return false;
  const delta = Date.parse(built) - Date.parse(newest);
  if (delta > 0) return false;
  if (delta === 0 && sameContent) return true;
  throw new AirlockError(
    'E_VULNDB_ROLLBACK',
    delta === 0
      ? `database '${name}' built at ${built} is installed already with other content`
      : `the database was built at ${built}, before the one installed as '${name}' (${newest}): a rollback`,
    { details: { built, installed: newest }, hint: 'import a database built after the installed one' },
  );
}

/** Copies `path` into a fresh install folder (a private copy: what is verified is what is installed). */
async function stage(path: string, stateDir: string, name: string, now: Date): Promise<{ id: string; dir: string }> {
  const id = `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const dir = await makeStateDir(stateDir, 'vulndb', name, 'installs', id);
  try {
    await copyFile(path, join(dir, `${VULNDB_FILE}.tmp`));
    await rename(join(dir, `${VULNDB_FILE}.tmp`), join(dir, VULNDB_FILE));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw fromFsError(err, path);
  }
  return { id, dir };
}

/** Keeps the installs `current` and `previous` point at; older copies (whole databases) go. */
async function pruneInstalls(dir: string): Promise<void> {
  const keep = new Set<string>();
  for (const link of ['current', 'previous']) {
    const target = await readlink(join(dir, link)).catch(() => undefined);
    if (target) keep.add(target.replace(/^installs\//, ''));
  }
  for (const id of await readdir(join(dir, 'installs')))
    if (!keep.has(id)) await rm(join(dir, 'installs', id), { recursive: true, force: true });
}

/**
 * The install record, then the links, then state.json: a crash before the link moves leaves the old
 * install current and the newest build time as it was, so the same database can be imported again.
 */
async function publish(dir: string, id: string, install: VulnDbInstall): Promise<void> {
  await writeFileAtomic(join(dir, 'installs', id, 'install.json'), `${JSON.stringify(install, null, 2)}\n`);
  const old = await readlink(join(dir, 'current')).catch(() => undefined);
  if (old) await swapSymlink(old, join(dir, 'previous'));
  await swapSymlink(join('installs', id), join(dir, 'current'));
  await writeFileAtomic(join(dir, 'state.json'), `${JSON.stringify({ built: install.built }, null, 2)}\n`, {
    overwrite: true,
  });
  await pruneInstalls(dir);
}

interface Decision {
  readonly verified: VerifiedVulnDb;
  readonly unchanged: boolean;
  readonly age: ReturnType<typeof applyVulnDbFreshness>;
}

async function decide(staged: string, options: ImportVulnDbOptions, name: string, maxAgeDays: number) {
  const verified = await verifyVulnDb(staged, options.keys, options.now);
  const { built, contentSha256 } = verified.manifest;
  const current = await readVulnDbInstall(options.stateDir, name);
  const newest = await newestBuilt(options.stateDir, name);
  const unchanged = checkRollback(name, built, newest, current?.contentSha256 === contentSha256);
  const age = applyVulnDbFreshness(built, options.now, maxAgeDays, options.breakGlass);
  return { verified, unchanged, age } satisfies Decision;
}

function installRecord(path: string, name: string, d: Decision, fileSha256: string, options: ImportVulnDbOptions) {
  const { manifest } = d.verified;
  return {
    format: VULNDB_INSTALL_FORMAT,
    name,
    importedAt: options.now.toISOString(),
    built: manifest.built,
    maxAgeDays: options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS,
    records: manifest.records,
    ecosystems: manifest.ecosystems,
    contentSha256: manifest.contentSha256,
    fileSha256,
    signer: d.verified.signer,
    source: bounded(path),
    ...(d.age.acceptedByBreakGlass && options.breakGlass
      ? { breakGlass: { reason: options.breakGlass.reason, until: options.breakGlass.until.toISOString() } }
      : {}),
  } satisfies VulnDbInstall;
}

/**
 * Every check `importVulnDb` makes, and no effect: what `import` runs on a carried database before it
 * moves anything, so a database that would be refused refuses the whole package first.
 */
export async function checkVulnDbImport(path: string, options: ImportVulnDbOptions): Promise<void> {
  const name = validateVulnDbName(options.name ?? DEFAULT_VULNDB_NAME);
  await decide(path, options, name, checkMaxAge(options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS));
}

/**
 * Verifies the database at `path` (signature, content hash), refuses a rollback and a stale build
 * (unless a break-glass covers it), then installs it as `name` atomically. The same build again is a
 * success that changes nothing.
 */
export async function importVulnDb(path: string, options: ImportVulnDbOptions): Promise<ImportVulnDbResult> {
  const name = validateVulnDbName(options.name ?? DEFAULT_VULNDB_NAME);
  const maxAgeDays = checkMaxAge(options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS);
  await checkStateDir(options.stateDir);
  const dir = vulnDbDir(options.stateDir, name);
  const audit = (result: AuditRecord['result'], details: Record<string, unknown>, reason?: string): AuditRecord => ({
    action: options.breakGlass ? 'vulndb.break-glass' : 'vulndb.import',
    result,
    subjects: [{ name }],
    ...(reason ? { reason } : {}),
    details: { database: bounded(path), ...details },
  });
  const staged = await stage(path, options.stateDir, name, options.now);
  let decision: Decision;
  try {
    decision = await decide(join(staged.dir, VULNDB_FILE), options, name, maxAgeDays);
  } catch (err) {
    await rm(staged.dir, { recursive: true, force: true });
    // A verdict (exit 1) is a refusal; anything else (not a database, an I/O error) could not be evaluated.
    if (err instanceof AirlockError)
      await options.record?.(audit(err.exitCode === 1 ? 'refused' : 'failed', {}, `${err.code}: ${err.message}`));
    throw err;
  }
  const fileSha256 = (await digestFile(join(staged.dir, VULNDB_FILE))).hex;
  const install = installRecord(path, name, decision, fileSha256, { ...options, maxAgeDays });
  const result = { unchanged: decision.unchanged, state: decision.age.state, daysLeft: decision.age.daysLeft };
  if (decision.unchanged) {
    await rm(staged.dir, { recursive: true, force: true });
    const current = await readVulnDbInstall(options.stateDir, name);
    return { install: current ?? install, ...result };
  }
  const { breakGlass, ...facts } = install;
  const event = audit('ok', { built: facts.built, records: facts.records, signer: facts.signer, breakGlass });
  try {
    if (options.record) await recordBeforeEffect(options.record, event, `installing vulnerability database '${name}'`);
    await publish(dir, staged.id, install);
  } catch (err) {
    await rm(staged.dir, { recursive: true, force: true });
    throw err instanceof AirlockError ? err : fromFsError(err, dir, 'write');
  }
  return { install, ...result };
}
