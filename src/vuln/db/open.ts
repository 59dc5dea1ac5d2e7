// Reading a vulnerability database: its manifest and signature, and the records of one package through
// one prepared statement on the (ecosystem, name) index. Opening checks only that the file is one;
// verify.ts says whether it can be trusted.
import { statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { AirlockError, fromFsError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { AdvisorySource, OsvRecord } from '../types.ts';
import { normalisePackageName, VULNDB_FORMAT, type VulnDbManifest } from './format.ts';

export interface OpenedVulnDb {
  readonly manifest: VulnDbManifest;
  /** The exact manifest bytes the signature covers. */
  readonly manifestText: string;
  /** The signature (a Sigstore bundle, JSON text), absent when the database is unsigned. */
  readonly signature: string | undefined;
  readonly source: AdvisorySource;
  /** The sqlite handle, for verification's full walk. */
  readonly db: DatabaseSync;
  close(): void;
}

const notADatabase = (path: string, why: string, cause?: unknown) =>
  new AirlockError('E_INPUT_MALFORMED', `${bounded(path)} is not an airlock vulnerability database: ${why}`, {
    hint: 'build one with `airlock vulndb build`',
    ...(cause === undefined ? {} : { cause }),
  });

function parseManifest(path: string, text: string): VulnDbManifest {
  let m: Partial<VulnDbManifest>;
  try {
    m = JSON.parse(text) as Partial<VulnDbManifest>;
  } catch (err) {
    throw notADatabase(path, 'its manifest is not JSON', err);
  }
  if (m?.format !== VULNDB_FORMAT) throw notADatabase(path, `format ${bounded(String(m?.format), 64)}`);
  if (typeof m.built !== 'string' || Number.isNaN(Date.parse(m.built)))
    throw notADatabase(path, 'its manifest has no build time');
  if (typeof m.contentSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.contentSha256))
    throw notADatabase(path, 'its manifest has no content hash');
  if (typeof m.records !== 'number') throw notADatabase(path, 'its manifest has no record count');
  return m as VulnDbManifest;
}

function readMeta(db: DatabaseSync, path: string): { manifestText: string; signature: string | undefined } {
  let rows: { key: string; value: string }[];
  try {
    rows = db.prepare("SELECT key, value FROM meta WHERE key IN ('manifest', 'signature')").all() as typeof rows;
  } catch (err) {
    throw notADatabase(path, bounded((err as Error).message), err);
  }
  const manifestText = rows.find((r) => r.key === 'manifest')?.value;
  if (typeof manifestText !== 'string') throw notADatabase(path, 'it has no manifest');
  const signature = rows.find((r) => r.key === 'signature')?.value;
  return { manifestText, signature: typeof signature === 'string' ? signature : undefined };
}

/** Parsed records kept for lookups that meet them again (images scanned one after another share packages). */
const PARSED_CACHE = 4096;

function advisorySource(db: DatabaseSync): AdvisorySource {
  const lookup = db.prepare(
    'SELECT r.id AS id, r.json AS json FROM affected a JOIN records r ON r.id = a.id ' +
      'WHERE a.ecosystem = ? AND a.name = ? ORDER BY a.id',
  );
  const parsed = new Map<string, OsvRecord>();
  const parse = (row: { id: string; json: string }): OsvRecord => {
    const known = parsed.get(row.id);
    if (known) return known;
    const record = JSON.parse(row.json) as OsvRecord;
    if (parsed.size >= PARSED_CACHE) parsed.clear();
    parsed.set(row.id, record);
    return record;
  };
  return {
    recordsFor(ecosystem: string, name: string): OsvRecord[] {
      return (lookup.all(ecosystem, normalisePackageName(ecosystem, name)) as { id: string; json: string }[]).map(
        parse,
      );
    },
  };
}

/** The ecosystems the manifest says hold at least one record; a manifest without the list holds none (fail closed). */
function manifestEcosystems(manifest: VulnDbManifest): ReadonlySet<string> {
  const counts: unknown = manifest.ecosystems;
  if (typeof counts !== 'object' || counts === null) return new Set();
  return new Set(Object.entries(counts).flatMap(([eco, n]) => (typeof n === 'number' && n > 0 ? [eco] : [])));
}

/** Opens the database at `path` read-only. The caller closes it. */
export function openVulnDb(path: string): OpenedVulnDb {
  try {
    if (!statSync(path).isFile()) throw notADatabase(path, 'not a file');
  } catch (err) {
    throw err instanceof AirlockError ? err : fromFsError(err, path);
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (err) {
    throw notADatabase(path, bounded((err as Error).message), err);
  }
  try {
    const { manifestText, signature } = readMeta(db, path);
    const manifest = parseManifest(path, manifestText);
    const source = { ...advisorySource(db), ecosystems: () => manifestEcosystems(manifest) };
    return { manifest, manifestText, signature, source, db, close: () => db.close() };
  } catch (err) {
    db.close();
    if (err instanceof AirlockError) throw err;
    throw notADatabase(path, bounded((err as Error).message), err);
  }
}
