// Alpine packages from apk's database, /lib/apk/db/installed (apk-tools' "installed" format: records
// separated by blank lines, each line `X:value` with a one-letter key). Read here: P name, V version,
// A architecture, o origin (the source package, as Alpine's advisories name packages), L licence.
// File lines (F, R, Z, a, M) and the rest are skipped. A record without P or V is a note.
import type { Readable } from 'node:stream';
import { bounded } from '../../text.ts';
import type { FoundPackage } from '../package.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from './cataloguer.ts';
import { mib, readCapped, unreadResult } from './read-capped.ts';

const INSTALLED = '/lib/apk/db/installed';
const MAX_INSTALLED = 64 * 1024 * 1024;

type ApkRecord = Map<string, string>;

function records(text: string): Array<{ line: number; fields: ApkRecord }> {
  const out: Array<{ line: number; fields: ApkRecord }> = [];
  let current: { line: number; fields: ApkRecord } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      current = undefined;
      return;
    }
    if (current === undefined) out.push((current = { line: i + 1, fields: new Map() }));
    // Only the first occurrence of a key counts (file lines repeat F/R; the package keys do not).
    if (line.length >= 2 && line[1] === ':' && !current.fields.has(line[0] ?? '')) {
      current.fields.set(line[0] ?? '', line.slice(2));
    }
  });
  return out;
}

export function apkPackages(text: string, foundIn: string): CatalogueResult {
  const packages: FoundPackage[] = [];
  const notes: string[] = [];
  for (const { line, fields } of records(text)) {
    const name = fields.get('P');
    const version = fields.get('V');
    if (!name || !version) {
      notes.push(`apk: ${bounded(foundIn)}: the record at line ${line} has no P (name) or V (version); left out`);
      continue;
    }
    const arch = fields.get('A');
    const origin = fields.get('o');
    const licence = fields.get('L');
    packages.push({
      type: 'apk',
      name,
      version,
      ...(arch ? { arch } : {}),
      ...(origin ? { source: { name: origin } } : {}),
      licenses: licence ? [licence] : [],
      foundIn,
    });
  }
  return { packages, notes };
}

export const apkCataloguer: FileCataloguer = {
  name: 'apk',
  wants: (file: CandidateFile) => file.path === INSTALLED,
  async read(file: CandidateFile, content: Readable): Promise<CatalogueResult> {
    const bytes = await readCapped(content, MAX_INSTALLED);
    if (bytes === undefined) {
      return unreadResult(`apk: ${bounded(file.path)} is larger than ${mib(MAX_INSTALLED)}; not read`);
    }
    return apkPackages(bytes.toString('utf8'), file.path);
  },
};
