// The transfer package container: a plain tar (or the same tree as a folder) whose first entries are
// small header files (the manifest and its signatures) and whose other entries are payload files.
// An importer reads it in one pass and verifies before it accepts: the headers go to acceptHeaders
// (signature checks) before any payload byte is written; each payload file must then be a plain file
// with a safe path that the manifest lists, and it is hashed while it is written into staging.
// Any failure removes what this import staged. The source is only ever read.
import { stat } from 'node:fs/promises';
import { fromFsError } from '../../errors.ts';
import { DEFAULT_MAX_HEADER_SIZE, type ReadPackageOptions, type ReadPackageResult } from './admit.ts';
import { assertPackagePath, malformed } from './paths.ts';
import { dirHeadersOnly, readDirPackage } from './read-from-folder.ts';
import { readTarPackage, tarHeadersOnly } from './read-from-tar.ts';
import { Staging } from './staging.ts';

export type { PackageFile, ReadPackageOptions, ReadPackageResult } from './admit.ts';

/** 'tar' for a file, 'dir' for a folder (the path itself may be a symlink: the user chose it). */
async function sourceKind(source: string): Promise<'tar' | 'dir'> {
  const st = await stat(source).catch((err: unknown) => {
    throw fromFsError(err, source);
  });
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'tar';
  throw malformed(`${source} is neither a file nor a folder`);
}

function checkHeaderNames(names: readonly string[]): void {
  // Header names become paths under a folder package's root: they must be as safe as any entry.
  for (const name of names) assertPackagePath(name, 'header name');
}

/**
 * Reads and verifies a package (a .tar file or a folder) into `options.stagingDir`. Resolves only
 * when every payload file is listed, plain, safely named and hashed to its listed value, and nothing
 * listed is missing; otherwise rejects after removing everything it wrote.
 */
export async function readPackage(source: string, options: ReadPackageOptions): Promise<ReadPackageResult> {
  checkHeaderNames(options.headerNames);
  const kind = await sourceKind(source);
  const staging = await Staging.open(options.stagingDir);
  try {
    return kind === 'tar'
      ? await readTarPackage(source, options, staging)
      : await readDirPackage(source, options, staging);
  } catch (err) {
    await staging.rollback();
    throw err;
  }
}

/**
 * The header files alone, for showing a package's metadata fast: a tar is read only up to its first
 * payload entry, a folder's payload is not looked at. Nothing here is verified.
 */
export async function packageHeadersOnly(
  source: string,
  headerNames: readonly string[],
  options: { readonly maxHeaderSize?: number } = {},
): Promise<Map<string, Buffer>> {
  checkHeaderNames(headerNames);
  const max = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  return (await sourceKind(source)) === 'tar'
    ? tarHeadersOnly(source, headerNames, max)
    : dirHeadersOnly(source, headerNames, max);
}
