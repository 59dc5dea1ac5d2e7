// Unpacks an untrusted tar into a private folder. Every entry is checked before a byte of it is
// written: only plain files and folders, relative paths without `..`, each path once. A symlink or
// hardlink is never created; docker-archive readers may ask for them to be recorded instead (skopeo
// and `docker save` write `<id>/layer.tar -> ../<hex>.tar` links for the legacy layout).
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { type ReadEntry, Unpack } from 'tar';
import { AirlockError, fromFsError } from '../../errors.ts';

export interface ExtractOptions {
  /** 'reject' (oci-archive): a link is an error. 'record': links are skipped and returned. */
  readonly links: 'reject' | 'record';
}

export interface ExtractResult {
  /** Normalised paths of the files written. */
  readonly files: ReadonlySet<string>;
  /** Link path → archive-relative path it points at (only with links: 'record'). */
  readonly links: ReadonlyMap<string, string>;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const MAX_LINK_HOPS = 8;

/** `./a//b/` → `a/b`; undefined when the path is absolute, climbs with `..`, or is not plain. */
export function safeArchivePath(raw: string): string | undefined {
  if (raw.includes('\0') || raw.includes('\\') || raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return undefined;
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  return parts.join('/');
}

/** Why an entry may not be unpacked, or undefined when it may. */
function refusal(
  entry: ReadEntry,
  path: string | undefined,
  seen: Set<string>,
  options: ExtractOptions,
): string | undefined {
  if (path === undefined) return `entry '${entry.path}' has an absolute or '..' path`;
  if (seen.has(path)) return `entry '${path}' appears twice`;
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    return options.links === 'reject'
      ? `entry '${path}' is a ${entry.type === 'Link' ? 'hardlink' : 'symlink'}`
      : undefined;
  }
  if (!FILE_TYPES.has(entry.type) && entry.type !== 'Directory')
    return `entry '${path}' is a ${entry.type}, not a file or folder`;
  return undefined;
}

/** Where a recorded link points, as an archive path; undefined if it leaves the archive. */
function linkTarget(entry: ReadEntry, path: string): string | undefined {
  const target = entry.linkpath ?? '';
  // Symlink targets are relative to the link's folder; hardlink targets name an archive path.
  const joined = entry.type === 'SymbolicLink' ? posix.join(posix.dirname(path), target) : target;
  return target.startsWith('/') ? undefined : safeArchivePath(posix.normalize(joined));
}

export async function extractTarSafely(file: string, dir: string, options: ExtractOptions): Promise<ExtractResult> {
  const seen = new Set<string>();
  const files = new Set<string>();
  const links = new Map<string, string>();
  let refused: AirlockError | undefined;
  const fail = (why: string): AirlockError =>
    new AirlockError('E_INPUT_MALFORMED', `${file}: ${why}`, {
      hint: 'the archive is damaged or was crafted; it was not unpacked',
    });

  await new Promise<void>((resolve, reject) => {
    const unpack: Unpack = new Unpack({
      cwd: dir,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      noMtime: true,
      filter: (_path, e) => {
        const entry = e as ReadEntry;
        // `tar -C dir .` starts with a `./` folder entry: the archive root itself, nothing to make.
        if (entry.type === 'Directory' && /^(\.\/?)+$/.test(entry.path)) return false;
        const path = safeArchivePath(entry.path);
        const why = refusal(entry, path, seen, options);
        if (why !== undefined || path === undefined) {
          refused ??= fail(why ?? 'bad entry');
          unpack.abort(refused);
          return false;
        }
        seen.add(path);
        if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          const target = linkTarget(entry, path);
          if (target === undefined) {
            refused ??= fail(`link '${path}' points outside the archive`);
            unpack.abort(refused);
          } else links.set(path, target);
          return false;
        }
        if (entry.type !== 'Directory') files.add(path);
        // The archive's modes are not ours to keep: a 000 folder would block our own reads and
        // clean-up, and setuid bits have no business in a temp folder.
        entry.mode = entry.type === 'Directory' ? 0o700 : 0o600;
        return true;
      },
    });
    const source = createReadStream(file);
    const stop = (err: unknown): void => {
      source.destroy();
      reject(err);
    };
    unpack.on('error', stop);
    unpack.on('close', () => resolve());
    source.on('error', (err) => stop(fromFsError(err, file)));
    source.pipe(unpack);
  }).catch((err: unknown) => {
    if (refused) throw refused;
    if (err instanceof AirlockError) throw err;
    // tar's strict mode turns every warning (bad checksum, truncation) into an error.
    throw fail(`not a valid tar archive: ${(err as Error).message}`);
  });
  return { files, links };
}

/** Follows recorded links from `path` to a file the extraction wrote. */
export function resolveArchivePath(result: ExtractResult, raw: string): string | undefined {
  let path = safeArchivePath(raw);
  for (let hops = 0; path !== undefined && hops <= MAX_LINK_HOPS; hops++) {
    if (result.files.has(path)) return path;
    path = result.links.get(path);
  }
  return undefined;
}
