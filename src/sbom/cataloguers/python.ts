// Installed Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` and the single-file
// `*.egg-info` form, each in the core-metadata email-header format (packaging.python.org, "Core metadata
// specifications"). Only the headers are read — they end at the first blank line, before the long
// description — so a METADATA carrying a large README costs no more than its headers.
//
// Name and version are taken exactly as recorded, as `importlib.metadata` reports them (the first
// `Name`/`Version` header, leading blanks of the value dropped, continuation lines kept); the licence
// from `License-Expression` (PEP 639), else a one-line `License`, else the `License ::` classifiers.
import type { Readable } from 'node:stream';
import { bounded } from '../../text.ts';
import type { FoundPackage } from '../package.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from './cataloguer.ts';
import { packageOrNote, readHead, unreadResult } from './read-capped.ts';

/** Headers longer than this are reported, not read (real ones are a few KiB). */
export const MAX_HEADERS = 1024 * 1024;

const METADATA_FILE = /\.(?:dist-info\/METADATA|egg-info\/PKG-INFO|egg-info)$/i;
const END_OF_HEADERS = /\r?\n\r?\n/;

/** Header fields in order, as Python's email parser (compat32) splits them: name lower-cased. */
export function parseHeaders(text: string): { readonly name: string; readonly value: string }[] {
  const fields: { name: string; value: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.value += `\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({
      name: line.slice(0, colon).trim().toLowerCase(),
      value: line.slice(colon + 1).replace(/^[ \t]+/, ''),
    });
  }
  return fields;
}

function pythonLicenses(fields: readonly { name: string; value: string }[]): string[] {
  const first = (name: string) => fields.find((f) => f.name === name)?.value.trim();
  const expression = first('license-expression');
  if (expression) return [bounded(expression)];
  const license = first('license');
  if (license && !license.includes('\n') && license.length <= 256 && license.toUpperCase() !== 'UNKNOWN')
    return [bounded(license)];
  return fields
    .filter((f) => f.name === 'classifier' && f.value.startsWith('License ::'))
    .map((f) => f.value.split('::').at(-1)?.trim() ?? '')
    .filter((l) => l !== '' && l !== 'OSI Approved')
    .map((l) => bounded(l));
}

/** The distribution a metadata file's headers describe, or a note saying why they describe none. */
export function parseCoreMetadata(text: string, foundIn: string): FoundPackage | string {
  const fields = parseHeaders(text);
  const name = fields.find((f) => f.name === 'name')?.value;
  const version = fields.find((f) => f.name === 'version')?.value;
  if (!name || !version) return `python: ${bounded(foundIn)} records no Name or no Version`;
  return { type: 'pypi', name: bounded(name), version: bounded(version), licenses: pythonLicenses(fields), foundIn };
}

export const pythonCataloguer: FileCataloguer = {
  name: 'python',
  wants(file: CandidateFile): boolean {
    return METADATA_FILE.test(file.path);
  },
  async read(file: CandidateFile, content: Readable): Promise<CatalogueResult> {
    const head = await readHead(content, MAX_HEADERS, END_OF_HEADERS);
    if (head === undefined) return unreadResult(`python: ${bounded(file.path)} has headers over 1 MiB, not read`);
    return packageOrNote(parseCoreMetadata(head, file.path));
  },
};
