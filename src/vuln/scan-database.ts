// The database a scan reads: a file given with --db, or one installed by `airlock vulndb import` (checked
// against its install record, freshness applied), opened once. A file is judged for age exactly as import
// judges it (E_VULNDB_STALE past --max-age) and, when keys are given, verified through the very handle
// the scan then reads: nothing is verified, closed and reopened by path. Without keys it is used (a
// database just built on the connected side) with a warning that it is unverified.
import { basename } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { DEFAULT_VULNDB_NAME } from './db/install.ts';
import { type OpenedVulnDb, openVulnDb } from './db/open.ts';
import { loadInstalledVulnDb } from './db/status.ts';
import { verifyOpenedVulnDb } from './db/verify.ts';
import { applyVulnDbFreshness, DEFAULT_MAX_AGE_DAYS } from './db/freshness.ts';
import type { ScanDatabase } from './report/report.ts';

export type DatabaseChoice =
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly keys: readonly KeyObject[];
      /** The age past which it is refused (E_VULNDB_STALE); default DEFAULT_MAX_AGE_DAYS, as import. */
      readonly maxAgeDays?: number;
      /** What to tell the user when it has no keys (which flag would verify it). */
      readonly unverifiedHint?: string;
    }
  | { readonly kind: 'installed'; readonly name: string };

export interface ScanDatabaseHandle {
  readonly opened: OpenedVulnDb;
  readonly database: ScanDatabase;
  /** What the user must be told on every use (unverified file, break-glass, about to expire). */
  readonly warnings: readonly string[];
}

function described(opened: OpenedVulnDb, name: string, uri: string): ScanDatabase {
  return {
    name,
    version: opened.manifest.built,
    built: opened.manifest.built,
    contentHash: `sha256:${opened.manifest.contentSha256}`,
    uri,
  };
}

const DB_KEY_HINT = 'give --db-key PUBKEY to verify it';
const STALE_HINT =
  'build a fresh one (airlock vulndb build), or give a larger --max-age DAYS if an older database is ' +
  'what you mean to scan with';

async function openFile(
  choice: Extract<DatabaseChoice, { kind: 'file' }>,
  now: Date,
): Promise<{ opened: OpenedVulnDb; warnings: string[] }> {
  const warnings: string[] = [];
  const opened = openVulnDb(choice.path);
  try {
    if (choice.keys.length > 0) await verifyOpenedVulnDb(opened, choice.path, choice.keys, now);
    else warnings.push(`${choice.path}: its signature was not checked (${choice.unverifiedHint ?? DB_KEY_HINT})`);
    const maxAgeDays = choice.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS;
    const age = applyVulnDbFreshness(opened.manifest.built, now, maxAgeDays, undefined, STALE_HINT);
    if (age.state === 'warn')
      warnings.push(
        `${choice.path}: built ${age.ageDays} days ago, it is refused after ${age.deadline} (--max-age ${maxAgeDays})`,
      );
    return { opened, warnings };
  } catch (err) {
    opened.close();
    throw err;
  }
}

export async function openScanDatabase(
  choice: DatabaseChoice | undefined,
  stateDir: string,
  now: Date,
): Promise<ScanDatabaseHandle> {
  if (choice?.kind === 'file') {
    const { opened, warnings } = await openFile(choice, now);
    return { opened, database: described(opened, basename(choice.path), choice.path), warnings };
  }
  const name = choice?.name ?? DEFAULT_VULNDB_NAME;
  const installed = await loadInstalledVulnDb(stateDir, name, now);
  const opened = openVulnDb(installed.path);
  return { opened, database: described(opened, name, `airlock-vulndb:${name}`), warnings: installed.warnings };
}
