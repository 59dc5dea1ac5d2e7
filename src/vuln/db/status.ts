// The installed vulnerability databases: each one opened for use (loadInstalledVulnDb: refused when
// missing, changed in place, stale, or past its break-glass deadline), and each one's status
// (`vulndb status`) in the monitoring levels of `trust status` (OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3).
import { join } from 'node:path';
import { digestFile } from '../../crypto/digest.ts';
import { AirlockError, isAirlockError } from '../../errors.ts';
import { pathExists } from '../../files/atomic-write.ts';
import { checkStateDir } from '../../files/state-dir.ts';
import { listInstalledNames } from '../../trust/installed.ts';
import { epochSeconds, gaugeWriter, type GaugeSample, type Level } from '../../trust/status.ts';
import { type FreshnessState, judgeAge } from './freshness.ts';
import { readVulnDbInstall, VULNDB_FILE, type VulnDbInstall, vulnDbDir } from './install.ts';

export interface VulnDbStatus {
  readonly name: string;
  readonly level: Level;
  /** Absent when the install cannot be read (see problem). */
  readonly state?: FreshnessState;
  readonly built?: string;
  readonly importedAt?: string;
  readonly ageDays?: number;
  readonly maxAgeDays?: number;
  readonly deadline?: string;
  readonly daysLeft?: number;
  readonly records?: number;
  readonly breakGlass?: VulnDbInstall['breakGlass'];
  readonly problem?: { readonly code: string; readonly message: string };
  /** The most urgent fact, for one-line output. */
  readonly summary: string;
}

export interface InstalledVulnDb {
  readonly path: string;
  readonly install: VulnDbInstall;
  /** What every use of this database must show (a break-glass install, a database about to expire). */
  readonly warnings: readonly string[];
}

/** The install of `name`, its file checked against the hash recorded at import. */
async function checkedInstall(stateDir: string, name: string): Promise<InstalledVulnDb | undefined> {
  const install = await readVulnDbInstall(stateDir, name);
  const path = join(vulnDbDir(stateDir, name), 'current', VULNDB_FILE);
  if (!install) {
    // Never installed is no database; installed once (state.json) with no current install is a broken one.
    if (!(await pathExists(join(vulnDbDir(stateDir, name), 'state.json')))) return undefined;
    throw new AirlockError(
      'E_VULNDB_TAMPERED',
      `vulnerability database '${name}' was imported, but has no current install`,
      {
        hint: 'import the database again (airlock vulndb import)',
      },
    );
  }
  const found = (
    await digestFile(path).catch((err: unknown) => {
      if (isAirlockError(err, 'E_INPUT_MISSING'))
        throw new AirlockError(
          'E_VULNDB_TAMPERED',
          `vulnerability database '${name}' is installed, but ${path} is missing`,
        );
      throw err;
    })
  ).hex;
  if (found !== install.fileSha256)
    throw new AirlockError(
      'E_VULNDB_TAMPERED',
      `${path} was changed after import (sha256 ${found}, imported ${install.fileSha256})`,
      { hint: 'import the database again (airlock vulndb import)' },
    );
  return { path, install, warnings: [] };
}

/**
 * The installed database `name`, ready to open: E_VULNDB_MISSING when none is installed,
 * E_VULNDB_TAMPERED when its file changed, E_BREAK_GLASS past a break-glass deadline, E_VULNDB_STALE
 * past its maximum age.
 */
export async function loadInstalledVulnDb(stateDir: string, name: string, now: Date): Promise<InstalledVulnDb> {
  const loaded = await checkedInstall(stateDir, name);
  if (!loaded)
    throw new AirlockError('E_VULNDB_MISSING', `no vulnerability database is installed as '${name}'`, {
      hint: 'install one with `airlock vulndb import DB --key PUBKEY`',
    });
  const { install } = loaded;
  const age = judgeAge(install.built, now, install.maxAgeDays);
  if (install.breakGlass) {
    if (now.getTime() > Date.parse(install.breakGlass.until))
      throw new AirlockError(
        'E_BREAK_GLASS',
        `vulnerability database '${name}' was installed by break-glass until ${install.breakGlass.until}; that ` +
          'deadline has passed',
        { hint: 'import a fresh database (airlock vulndb import)' },
      );
    return {
      ...loaded,
      warnings: [
        `vulnerability database '${name}' is a BREAK-GLASS install (built ${install.built}; reason: ` +
          `${install.breakGlass.reason}), valid only until ${install.breakGlass.until}`,
      ],
    };
  }
  if (age.state === 'expired')
    throw new AirlockError(
      'E_VULNDB_STALE',
      `vulnerability database '${name}' was built at ${install.built}, ${age.ageDays} days ago: older than ` +
        `its maximum age of ${install.maxAgeDays} days`,
      { hint: 'import a fresh database (airlock vulndb import)' },
    );
  const warnings =
    age.state === 'warn'
      ? [`vulnerability database '${name}' expires in ${age.daysLeft} days (${age.deadline}): import a fresh one`]
      : [];
  return { ...loaded, warnings };
}

export function evaluateVulnDbStatus(install: VulnDbInstall, at: Date): VulnDbStatus {
  const age = judgeAge(install.built, at, install.maxAgeDays);
  let level: Level = age.state === 'ok' ? 0 : age.state === 'warn' ? 1 : 2;
  let summary =
    age.state === 'expired'
      ? `built ${install.built}: older than ${install.maxAgeDays} days since ${age.deadline}`
      : `built ${install.built}, acceptable for ${age.daysLeft} more days (until ${age.deadline})`;
  if (install.breakGlass) {
    level = 2;
    summary =
      at.getTime() > Date.parse(install.breakGlass.until)
        ? `break-glass deadline ${install.breakGlass.until} has passed: scans refuse this database`
        : `break-glass install until ${install.breakGlass.until} (${install.breakGlass.reason})`;
  }
  return {
    name: install.name,
    level,
    state: age.state,
    built: install.built,
    importedAt: install.importedAt,
    ageDays: age.ageDays,
    maxAgeDays: install.maxAgeDays,
    deadline: age.deadline,
    daysLeft: age.daysLeft,
    records: install.records,
    ...(install.breakGlass ? { breakGlass: install.breakGlass } : {}),
    summary,
  };
}

/** The status of each installed database (or of `names`); a broken one is reported, never skipped. */
export async function vulnDbStatus(stateDir: string, at: Date, names?: readonly string[]): Promise<VulnDbStatus[]> {
  await checkStateDir(stateDir);
  const statuses: VulnDbStatus[] = [];
  for (const name of names ?? (await listInstalledNames(stateDir, 'vulndb'))) {
    try {
      const loaded = await checkedInstall(stateDir, name);
      if (loaded) statuses.push(evaluateVulnDbStatus(loaded.install, at));
    } catch (err) {
      if (!isAirlockError(err)) throw err;
      // Found broken (changed, missing, corrupt): CRITICAL, scans refuse it. Unreadable (I/O): UNKNOWN.
      const problem = { code: err.code, message: err.message };
      const level = err.code === 'E_VULNDB_TAMPERED' ? 2 : 3;
      statuses.push({ name, level, problem, summary: `unusable: ${err.message} [${err.code}]` });
    }
  }
  return statuses;
}

/** A node-exporter textfile (Prometheus text exposition format 0.0.4), named as `trust status` names its gauges. */
export function vulnDbPrometheus(statuses: readonly VulnDbStatus[]): string {
  const lines: string[] = [];
  const metric = gaugeWriter(lines);
  const each = (value: (s: VulnDbStatus) => number | undefined): GaugeSample[] =>
    statuses.flatMap((s): GaugeSample[] => {
      const v = value(s);
      return v === undefined ? [] : [[{ name: s.name }, v]];
    });
  const time = (iso: string | undefined) => (iso === undefined ? undefined : epochSeconds(iso));
  metric(
    'airlock_vulndb_built_timestamp_seconds',
    'When the installed database was built.',
    each((s) => time(s.built)),
  );
  metric(
    'airlock_vulndb_deadline_timestamp_seconds',
    'Last instant the freshness policy accepts the database (build time plus its maximum age).',
    each((s) => time(s.deadline)),
  );
  metric(
    'airlock_vulndb_imported_timestamp_seconds',
    'When the database was imported.',
    each((s) => time(s.importedAt)),
  );
  metric(
    'airlock_vulndb_records',
    'OSV records in the installed database.',
    each((s) => s.records),
  );
  metric(
    'airlock_vulndb_break_glass_deadline_timestamp_seconds',
    'Deadline of a break-glass install (absent when none).',
    each((s) => time(s.breakGlass?.until)),
  );
  metric(
    'airlock_vulndb_status',
    'Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.',
    each((s) => s.level),
  );
  return `${lines.join('\n')}\n`;
}
