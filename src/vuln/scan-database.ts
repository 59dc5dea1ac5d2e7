// The database a scan reads: a file given with --db (verified when a key is given), or one installed
// by `airlock vulndb import` (checked against its install record, freshness applied), opened once.
import { basename } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { DEFAULT_VULNDB_NAME } from './db/install.ts';
import { type OpenedVulnDb, openVulnDb } from './db/open.ts';
import { loadInstalledVulnDb } from './db/status.ts';
import { verifyVulnDb } from './db/verify.ts';
import type { ScanDatabase } from './report/report.ts';

export type DatabaseChoice =
  | { readonly kind: 'file'; readonly path: string; readonly keys: readonly KeyObject[] }
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

export async function openScanDatabase(
  choice: DatabaseChoice | undefined,
  stateDir: string,
  now: Date,
): Promise<ScanDatabaseHandle> {
  if (choice?.kind === 'file') {
    const warnings: string[] = [];
    if (choice.keys.length > 0) await verifyVulnDb(choice.path, choice.keys, now);
    else warnings.push(`${choice.path}: its signature was not checked (give --db-key PUBKEY to verify it)`);
    const opened = openVulnDb(choice.path);
    return { opened, database: described(opened, basename(choice.path), choice.path), warnings };
  }
  const name = choice?.name ?? DEFAULT_VULNDB_NAME;
  const installed = await loadInstalledVulnDb(stateDir, name, now);
  const opened = openVulnDb(installed.path);
  return { opened, database: described(opened, name, `airlock-vulndb:${name}`), warnings: installed.warnings };
}
