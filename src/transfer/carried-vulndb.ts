// Vulnerability databases a package carries (pack --vulndb): checked with everything else before the
// import moves anything (signature against the keys this side trusts for databases, content hash,
// rollback, freshness), and installed by name once the package's images are published. A database that
// would be refused refuses the import; one that was checked is then installed as `vulndb import` does.
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Recorder } from '../recorder.ts';
import type { BreakGlass } from '../trust/freshness.ts';
import type { TransferMetadata } from './format.ts';

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

/** Where an import's carried databases are and what they are checked and installed with. */
export interface CarriedVulnDbContext {
  readonly metadata: TransferMetadata;
  readonly staging: string;
  readonly options: CarriedVulnDbOptions | undefined;
  /** The keys of the package's signers: a database's keys unless `options.keys` names others. */
  readonly signerKeys: readonly KeyObject[];
  readonly stateDir: string;
  readonly now: Date;
}

/** Each carried database's path in the staging folder, and the options `vulndb import` takes for it. */
function carried(c: CarriedVulnDbContext, record?: Recorder) {
  const o = c.options;
  const options = {
    keys: o?.keys ?? c.signerKeys,
    ...(o?.name ? { name: o.name } : {}),
    ...(o?.maxAgeDays !== undefined ? { maxAgeDays: o.maxAgeDays } : {}),
    ...(o?.breakGlass ? { breakGlass: o.breakGlass } : {}),
    stateDir: c.stateDir,
    now: c.now,
    ...(record ? { record } : {}),
  };
  return c.metadata.artifacts.flatMap((a) =>
    a.kind === 'file' && a.vulndb ? [{ artifact: a, path: join(c.staging, a.path), options }] : [],
  );
}

/** Every check the install will make, no effect (before anything moves). */
export async function checkCarriedVulnDbs(c: CarriedVulnDbContext): Promise<void> {
  const dbs = carried(c);
  if (dbs.length === 0) return;
  const { checkVulnDbImport } = await import('../vuln/db/install.ts');
  for (const db of dbs) await checkVulnDbImport(db.path, db.options);
}

/** Installs each carried database (after the images are published), recording each install first. */
export async function installCarriedVulnDbs(
  c: CarriedVulnDbContext,
  record: Recorder,
): Promise<InstalledCarriedVulnDb[]> {
  const dbs = carried(c, record);
  if (dbs.length === 0) return [];
  const { importVulnDb } = await import('../vuln/db/install.ts');
  const out: InstalledCarriedVulnDb[] = [];
  for (const db of dbs) {
    const { install, unchanged } = await importVulnDb(db.path, db.options);
    out.push({ path: db.artifact.path, name: install.name, built: install.built, unchanged });
  }
  return out;
}
