// Installed npm packages: the package.json at the root of each package folder in a node_modules tree
// (`…/node_modules/NAME/package.json`, `…/node_modules/@scope/NAME/package.json`), at any depth of
// nesting, the way `npm ls --all` walks what is installed.
//
// Choices, where syft (which counts every package.json) and npm differ:
// - An application's own package.json outside node_modules (`/app/package.json`) is not a package: it is
//   not installed from a registry and no advisory names it; `npm ls` shows it only as the tree's root.
// - A package.json deeper inside a package (`node_modules/x/lib/package.json`, test fixtures) is not a
//   package either, unless it is under a nested node_modules.
// - Lockfiles (`package-lock.json`, `node_modules/.package-lock.json`) are not read: they declare what
//   was meant to be installed, not what is in the image, and syft does not use them for images.
import type { Readable } from 'node:stream';
import { bounded } from '../../text.ts';
import type { FoundPackage } from '../package.ts';
import type { CandidateFile, CatalogueResult, FileCataloguer } from './cataloguer.ts';
import { packageOrNote, readOrNote } from './read-capped.ts';

/** A package.json larger than this is reported, not read (the largest on npm are a few hundred KiB). */
export const MAX_PACKAGE_JSON = 4 * 1024 * 1024;

/** A package root: the folder named right under node_modules (or under its @scope folder). */
const PACKAGE_ROOT = /(?:^|\/)node_modules\/(?:@[^/.][^/]*\/)?[^/.@][^/]*\/package\.json$/;

/** The licences a package.json records: `license` (a string or a legacy `{type}`), or legacy `licenses`. */
export function npmLicenses(json: Record<string, unknown>): string[] {
  const name = (value: unknown): string | undefined => {
    const text = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : value;
    return typeof text === 'string' && text.trim() !== '' ? bounded(text.trim()) : undefined;
  };
  const single = name(json.license);
  if (single) return [single];
  const list = Array.isArray(json.licenses) ? json.licenses : [];
  return list.map(name).filter((l): l is string => l !== undefined);
}

/** The package a package.json's text describes, or a note saying why it does not describe one. */
export function parsePackageJson(text: string, foundIn: string): FoundPackage | string {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return `npm: ${bounded(foundIn)} is not JSON`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return `npm: ${bounded(foundIn)} is not an object`;
  const record = json as Record<string, unknown>;
  const { name, version } = record;
  if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '')
    return `npm: ${bounded(foundIn)} records no name or no version`;
  return { type: 'npm', name: bounded(name), version: bounded(version), licenses: npmLicenses(record), foundIn };
}

export const npmCataloguer: FileCataloguer = {
  name: 'npm',
  wants(file: CandidateFile): boolean {
    return PACKAGE_ROOT.test(file.path);
  },
  async read(file: CandidateFile, content: Readable): Promise<CatalogueResult> {
    const bytes = await readOrNote('npm', file, content, MAX_PACKAGE_JSON);
    if (!Buffer.isBuffer(bytes)) return bytes;
    return packageOrNote(parsePackageJson(bytes.toString('utf8'), file.path));
  },
};
