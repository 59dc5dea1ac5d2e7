// `vulndb build` (connected side): OSV records from folders and all.zip files into one signed sqlite
// file. The file is written under a temporary name beside the output and renamed only once it is
// complete and signed: an interrupted build leaves nothing under the output name (and removes its
// temporary file when it can). A record met twice keeps the newest `modified`, and is counted.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Signer } from '../../crypto/signer.ts';
import { AirlockError, fromFsError } from '../../errors.ts';
import { pathExists, sweepTempFiles, SQLITE_SIDECARS } from '../../files/atomic-write.ts';
import { signBlob } from '../../sigstore/sign-blob.ts';
import { bounded } from '../../text.ts';
import { parseOsvRecord } from '../osv/record.ts';
import type { OsvRecord } from '../types.ts';
import {
  contentHash,
  manifestBytes,
  normalisePackageName,
  SCHEMA,
  VULNDB_FORMAT,
  VULNDB_SCHEMA_VERSION,
  type VulnDbManifest,
} from './format.ts';
import { planSources, type RecordFile } from './sources.ts';

export interface BuildProgress {
  readonly done: number;
  readonly total: number;
  readonly source: string;
}

export interface BuildOptions {
  /** Folders of OSV `*.json` records (walked recursively) or `all.zip` files. */
  readonly sources: readonly string[];
  readonly out: string;
  /** Signs the manifest; without one the database is unsigned (and every import refuses it). */
  readonly signer?: Signer;
  readonly now: Date;
  /** Replace an existing output file (otherwise E_OUTPUT_EXISTS). */
  readonly overwrite?: boolean;
  readonly onProgress?: (progress: BuildProgress) => void;
}

export interface BuildResult {
  readonly path: string;
  readonly manifest: VulnDbManifest;
  readonly signed: boolean;
  readonly bytes: number;
}

function parseRecordFile(file: RecordFile): OsvRecord {
  let json: unknown;
  try {
    json = JSON.parse(file.text);
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(file.origin)}: not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseOsvRecord(json, file.origin);
}

/** Writes records into the open database, newest `modified` winning; returns how many were duplicates. */
class RecordWriter {
  duplicates = 0;
  readonly #existing;
  readonly #put;
  readonly #unindex;
  readonly #index;

  constructor(db: DatabaseSync) {
    this.#existing = db.prepare('SELECT modified FROM records WHERE id = ?');
    this.#put = db.prepare('INSERT OR REPLACE INTO records (id, modified, withdrawn, json) VALUES (?, ?, ?, ?)');
    this.#unindex = db.prepare('DELETE FROM affected WHERE id = ?');
    this.#index = db.prepare('INSERT OR IGNORE INTO affected (ecosystem, name, id) VALUES (?, ?, ?)');
  }

  add(record: OsvRecord): void {
    const existing = this.#existing.get(record.id) as { modified: string } | undefined;
    if (existing) {
      this.duplicates++;
      if (Date.parse(record.modified) <= Date.parse(existing.modified)) return;
      this.#unindex.run(record.id);
    }
    this.#put.run(record.id, record.modified, record.withdrawn ?? null, JSON.stringify(record));
    for (const a of record.affected)
      this.#index.run(a.package.ecosystem, normalisePackageName(a.package.ecosystem, a.package.name), record.id);
  }
}

function count(db: DatabaseSync, sql: string): number {
  return Number((db.prepare(sql).get() as { n: number | bigint }).n);
}

function manifestOf(db: DatabaseSync, options: BuildOptions, sources: VulnDbManifest['sources'], duplicates: number) {
  const ecosystems: Record<string, number> = {};
  for (const row of db
    .prepare('SELECT ecosystem, COUNT(DISTINCT id) AS n FROM affected GROUP BY ecosystem ORDER BY ecosystem')
    .iterate())
    ecosystems[String(row.ecosystem)] = Number(row.n);
  return {
    format: VULNDB_FORMAT,
    schemaVersion: VULNDB_SCHEMA_VERSION,
    built: options.now.toISOString(),
    records: count(db, 'SELECT COUNT(*) AS n FROM records'),
    withdrawn: count(db, 'SELECT COUNT(*) AS n FROM records WHERE withdrawn IS NOT NULL'),
    duplicates,
    ecosystems,
    sources,
    contentSha256: contentHash(db),
  } satisfies VulnDbManifest;
}

async function fill(db: DatabaseSync, options: BuildOptions): Promise<VulnDbManifest> {
  const planned = await planSources(options.sources);
  const total = planned.reduce((n, s) => n + s.count, 0);
  const writer = new RecordWriter(db);
  const sources: { source: string; records: number }[] = [];
  let done = 0;
  db.exec('BEGIN');
  for (const source of planned) {
    let records = 0;
    for await (const file of source.read()) {
      writer.add(parseRecordFile(file));
      records++;
      options.onProgress?.({ done: ++done, total, source: source.source });
    }
    sources.push({ source: bounded(basename(source.source) || source.source), records });
  }
  db.exec('COMMIT');
  return manifestOf(db, options, sources, writer.duplicates);
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  await handle.sync().finally(() => handle.close());
}

/** Builds (and signs, given a signer) the database at `options.out`. */
export async function buildVulnDb(options: BuildOptions): Promise<BuildResult> {
  const { out } = options;
  if (!options.overwrite && (await pathExists(out)))
    throw new AirlockError('E_OUTPUT_EXISTS', `${bounded(out)} already exists`, { hint: 'pass --force to replace it' });
  await stat(dirname(out)).catch((err: unknown) => {
    throw fromFsError(err, dirname(out));
  });
  // What a killed build left (its temporary file, named as atomic writes name theirs) goes first.
  await sweepTempFiles(out);
  const tmp = `${out}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(tmp);
    // The temporary file is thrown away if anything fails: no journal is needed while it is filled.
    db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF');
    for (const sql of SCHEMA) db.exec(sql);
    const manifest = await fill(db, options);
    const bytes = manifestBytes(manifest);
    const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    meta.run('manifest', bytes.toString('utf8'));
    if (options.signer) {
      const signed = await signBlob({ data: bytes, name: 'manifest' }, { signer: options.signer });
      meta.run('signature', JSON.stringify(signed.bundle));
    }
    db.close();
    db = undefined;
    await syncFile(tmp);
    await rename(tmp, out);
    await syncFile(dirname(out)).catch(() => undefined);
    return { path: out, manifest, signed: options.signer !== undefined, bytes: (await stat(out)).size };
  } catch (err) {
    db?.close();
    for (const file of [tmp, ...SQLITE_SIDECARS.map((suffix) => `${tmp}${suffix}`)])
      await rm(file, { force: true }).catch(() => undefined);
    throw err instanceof AirlockError ? err : fromFsError(err, out, 'write');
  }
}
