// Vulnerability databases a package carries (pack --vulndb): checked with everything else before the
// import moves anything (signature against the keys this side trusts for databases, content hash,
// rollback, freshness), and installed by name once the package's images are published. A database that
// would be refused refuses the import; one that was checked is then installed as `vulndb import` does.
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Recorder } from '../recorder.ts';
import type { BreakGlass } from '../trust/freshness.ts';
import type { FileArtifact, TransferMetadata } from './format.ts';

export interface CarriedVulnDbOptions {
  /** The keys a database must be signed by; absent: the keys of the package's signers. */
  readonly keys?: readonly KeyObject[];
  readonly name?: string;
  readonly maxAgeDays?: number;
  readonly breakGlass?: BreakGlass;
}

export interface InstalledCarriedVulnDb {
  readonly path: string;
  readonly name: string;
  readonly built: string;
  readonly unchanged: boolean;
}

function carried(metadata: TransferMetadata): FileArtifact[] {
  return metadata.artifacts.flatMap((a) => (a.kind === 'file' && a.vulndb ? [a] : []));
}

function importOptions(
  options: CarriedVulnDbOptions | undefined,
  signerKeys: readonly KeyObject[],
  stateDir: string,
  now: Date,
  record?: Recorder,
) {
  return {
    keys: options?.keys ?? signerKeys,
    ...(options?.name ? { name: options.name } : {}),
    ...(options?.maxAgeDays !== undefined ? { maxAgeDays: options.maxAgeDays } : {}),
    ...(options?.breakGlass ? { breakGlass: options.breakGlass } : {}),
    stateDir,
    now,
    ...(record ? { record } : {}),
  };
}

/** Every check the install will make, no effect (before anything moves). */
export async function checkCarriedVulnDbs(
  metadata: TransferMetadata,
  staging: string,
  options: CarriedVulnDbOptions | undefined,
  signerKeys: readonly KeyObject[],
  stateDir: string,
  now: Date,
): Promise<void> {
  const dbs = carried(metadata);
  if (dbs.length === 0) return;
  const { checkVulnDbImport } = await import('../vuln/db/install.ts');
  for (const a of dbs)
    await checkVulnDbImport(join(staging, a.path), importOptions(options, signerKeys, stateDir, now));
}

/** Installs each carried database (after the images are published), recording each install first. */
export async function installCarriedVulnDbs(
  metadata: TransferMetadata,
  staging: string,
  options: CarriedVulnDbOptions | undefined,
  signerKeys: readonly KeyObject[],
  stateDir: string,
  now: Date,
  record: Recorder,
): Promise<InstalledCarriedVulnDb[]> {
  const dbs = carried(metadata);
  if (dbs.length === 0) return [];
  const { importVulnDb } = await import('../vuln/db/install.ts');
  const out: InstalledCarriedVulnDb[] = [];
  for (const a of dbs) {
    const result = await importVulnDb(join(staging, a.path), importOptions(options, signerKeys, stateDir, now, record));
    out.push({ path: a.path, name: result.install.name, built: result.install.built, unchanged: result.unchanged });
  }
  return out;
}
