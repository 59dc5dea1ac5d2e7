// RPM packages from rpm's sqlite database (rpmdb.sqlite: Fedora 33+, RHEL 9+, Amazon Linux 2023), at
// /usr/lib/sysimage/rpm, /var/lib/rpm or the ostree /usr/share/rpm: table Packages(hnum, blob), one RPM
// header per blob (rpm-header.ts). The file's bytes are opened in memory with node:sqlite's
// deserialize — nothing is written to disk — after marking the copy as rollback-journal: rpm leaves its
// databases in WAL mode, which an in-memory database cannot open. The BerkeleyDB `Packages` (RHEL ≤ 8)
// and NDB `Packages.db` (SUSE) formats are not read, and a note says so wherever one is found.
import { DatabaseSync } from 'node:sqlite';
import type { Readable } from 'node:stream';
import { bounded } from '../../text.ts';
import type { FoundPackage } from '../package.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from './cataloguer.ts';
import { mib, readCapped, unreadResult } from './read-capped.ts';
import { parseRpmHeader, parseSourceRpm, type RpmHeader } from './rpm-header.ts';

const DIRS = ['/usr/lib/sysimage/rpm', '/var/lib/rpm', '/usr/share/rpm'];
const SQLITE = new Set(DIRS.map((d) => `${d}/rpmdb.sqlite`));
const UNSUPPORTED = new Set(DIRS.flatMap((d) => [`${d}/Packages`, `${d}/Packages.db`]));
const MAX_DB = 512 * 1024 * 1024;
const SQLITE_MAGIC = 'SQLite format 3\0';

/** `epoch:version-release` when an epoch is recorded, as rpm's own `%{EVR}` says it. */
function evr(h: RpmHeader): string {
  return `${h.epoch !== undefined ? `${h.epoch}:` : ''}${h.version}-${h.release}`;
}

function found(h: RpmHeader, foundIn: string): FoundPackage {
  const source = h.sourceRpm ? parseSourceRpm(h.sourceRpm) : undefined;
  return {
    type: 'rpm',
    name: h.name,
    version: evr(h),
    ...(h.arch ? { arch: h.arch } : {}),
    ...(source ? { source } : {}),
    licenses: h.license ? [h.license] : [],
    foundIn,
  };
}

function headerBlobs(bytes: Buffer): Uint8Array[] {
  // Bytes 18 and 19 are the file format's write and read versions: 2 is WAL, 1 the rollback journal.
  const copy = new Uint8Array(bytes);
  if (copy[18] === 2) copy[18] = 1;
  if (copy[19] === 2) copy[19] = 1;
  const db = new DatabaseSync(':memory:');
  try {
    db.deserialize(copy);
    const rows = db.prepare('SELECT blob FROM Packages ORDER BY hnum').all() as Array<{ blob: Uint8Array }>;
    return rows.map((r) => r.blob);
  } finally {
    db.close();
  }
}

export function rpmSqlitePackages(bytes: Buffer, foundIn: string): CatalogueResult {
  const where = bounded(foundIn);
  if (bytes.subarray(0, 16).toString('latin1') !== SQLITE_MAGIC) {
    return unreadResult(`rpm: ${where} is not an sqlite database; not read`);
  }
  let blobs: Uint8Array[];
  try {
    blobs = headerBlobs(bytes);
  } catch (err) {
    return { packages: [], notes: [`rpm: ${where}: its Packages table cannot be read: ${bounded(String(err))}`] };
  }
  const packages: FoundPackage[] = [];
  const notes: string[] = [];
  blobs.forEach((blob, i) => {
    try {
      packages.push(found(parseRpmHeader(blob), foundIn));
    } catch (err) {
      notes.push(`rpm: ${where}: header ${i + 1} is malformed (${bounded((err as Error).message)}); left out`);
    }
  });
  return { packages, notes };
}

export const rpmCataloguer: FileCataloguer = {
  name: 'rpm',
  wants: (file: CandidateFile) => SQLITE.has(file.path) || UNSUPPORTED.has(file.path),
  async read(file: CandidateFile, content: Readable): Promise<CatalogueResult> {
    if (UNSUPPORTED.has(file.path)) {
      content.destroy();
      const format = file.path.endsWith('.db') ? 'NDB' : 'BerkeleyDB';
      return unreadResult(
        `rpm database ${bounded(file.path)} not read: BerkeleyDB/NDB formats are not supported ` +
          `(this one is ${format}); its packages are not listed`,
      );
    }
    const bytes = await readCapped(content, MAX_DB);
    if (bytes === undefined) {
      return unreadResult(`rpm: ${bounded(file.path)} is larger than ${mib(MAX_DB)}; not read`);
    }
    return rpmSqlitePackages(bytes, file.path);
  },
};
