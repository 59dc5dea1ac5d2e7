// The vulnerability database file: one node:sqlite file that travels as one artifact.
//   records (id, modified, withdrawn, json)        one row per OSV record, json = the parsed OsvRecord
//   affected (ecosystem, name, id)                 the lookup index: ecosystem as written, name normalised
//   meta (key, value)                              'manifest' (canonical JSON) and 'signature' (a bundle)
// Both data tables are WITHOUT ROWID: a lookup and the full walk the content hash makes read the same
// b-tree, so no index can answer lookups differently from what was hashed. The manifest's content
// hash covers the schema and both tables in a fixed order (never the file's bytes, which SQLite does
// not keep stable); the signature covers the manifest's bytes.
import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { json } from '@sigstore/core';

export const VULNDB_FORMAT = 'airlock-vulndb/v1';
export const VULNDB_SCHEMA_VERSION = 1;

export const SCHEMA = [
  'CREATE TABLE records (id TEXT PRIMARY KEY NOT NULL, modified TEXT NOT NULL, withdrawn TEXT, json TEXT NOT NULL) ' +
    'WITHOUT ROWID',
  'CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL, ' +
    'PRIMARY KEY (ecosystem, name, id)) WITHOUT ROWID',
  'CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)',
] as const;

export interface VulnDbManifest {
  readonly format: string;
  readonly schemaVersion: number;
  /** When the database was built (the builder's clock): rollback and freshness are judged on it. */
  readonly built: string;
  readonly records: number;
  readonly withdrawn: number;
  /** Records read more than once (across or within sources); the newest `modified` was kept. */
  readonly duplicates: number;
  /** Records per ecosystem as written (`PyPI`, `Debian:12`): a record affecting two counts in both. */
  readonly ecosystems: Readonly<Record<string, number>>;
  readonly sources: readonly { readonly source: string; readonly records: number }[];
  /** sha256 of the canonical content (contentHash). */
  readonly contentSha256: string;
}

/** The bytes the signature covers: RFC 8785 canonical JSON. */
export function manifestBytes(manifest: VulnDbManifest): Buffer {
  return Buffer.from(json.canonicalize(manifest), 'utf8');
}

/** The name as the index holds it: the one normaliser the matcher looks names up with (osv/names.ts). */
export { osvPackageName as normalisePackageName } from '../osv/names.ts';

/**
 * sha256 over the schema and every row of both tables in key order (SQLite's BINARY order, which is
 * byte order and so the same everywhere), each row as a JSON array on a line of its own.
 */
export function contentHash(db: DatabaseSync): string {
  const hash = createHash('sha256');
  const line = (values: readonly unknown[]) => hash.update(`${JSON.stringify(values)}\n`);
  hash.update(`${VULNDB_FORMAT}\nschema\n`);
  for (const row of db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name <> 'meta' ORDER BY type, name")
    .iterate())
    line([row.type, row.name, row.tbl_name, row.sql]);
  hash.update('records\n');
  for (const row of db.prepare('SELECT id, modified, withdrawn, json FROM records ORDER BY id').iterate())
    line([row.id, row.modified, row.withdrawn, row.json]);
  hash.update('affected\n');
  for (const row of db.prepare('SELECT ecosystem, name, id FROM affected ORDER BY ecosystem, name, id').iterate())
    line([row.ecosystem, row.name, row.id]);
  return hash.digest('hex');
}
