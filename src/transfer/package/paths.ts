// Path rules of a transfer package. A package path names one file below the package root in exactly
// one spelling, so that the manifest, the tar entry and the staged file can be compared as strings:
// `a/b`, never `./a//b` or `a/x/../b`. Anything else is refused rather than normalised, because two
// spellings of one file are how duplicate-entry and path-confusion tricks get past a listing.
import { AirlockError } from '../../errors.ts';
import { safeArchivePath } from '../../oci/archive/safe-extract.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function malformed(message: string, hint?: string): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', message, hint === undefined ? {} : { hint });
}

/**
 * True when `path` is already canonical: relative, `/`-separated, no empty, `.` or `..` segment, no
 * backslash, control character or drive letter. safe-extract's normaliser maps harmless spellings to this form
 * and refuses the rest, so a path is canonical exactly when normalising leaves it unchanged.
 */
export function isPackagePath(path: string): boolean {
  // Control characters (newline above all) would also break line-based pax records and listings.
  return safeArchivePath(path) === path && !/\p{Cc}/u.test(path);
}

export function assertPackagePath(path: string, subject: string): void {
  if (!isPackagePath(path)) {
    throw malformed(
      `${subject}: '${printable(path)}' is not a safe relative path`,
      'package paths are relative, use /, and have no empty, . or .. segments',
    );
  }
}

export function isSha256Hex(text: string): boolean {
  return SHA256_HEX.test(text);
}

/** A path quoted in a message: control characters (NUL, newlines) shown escaped, never raw. */
export function printable(path: string): string {
  return JSON.stringify(path).slice(1, -1);
}

/**
 * The file and folder names seen so far. A name may not be both a file and a folder (`a` and `a/b`):
 * unpacked, one would hide or replace the other, so the listing would not describe what is on disk.
 */
export class PathTree {
  readonly #files = new Set<string>();
  readonly #dirs = new Set<string>();

  hasFile(path: string): boolean {
    return this.#files.has(path);
  }

  /** Records a file; E_INPUT_MALFORMED when it is a duplicate or clashes with a folder. */
  addFile(path: string, subject: string): void {
    if (this.#files.has(path)) throw malformed(`${subject}: '${printable(path)}' appears twice`);
    if (this.#dirs.has(path)) throw malformed(`${subject}: '${printable(path)}' is both a file and a folder`);
    this.#addParents(path, subject);
    this.#files.add(path);
  }

  addDir(path: string, subject: string): void {
    if (this.#files.has(path)) throw malformed(`${subject}: '${printable(path)}' is both a file and a folder`);
    this.#addParents(path, subject);
    this.#dirs.add(path);
  }

  #addParents(path: string, subject: string): void {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      const parent = path.slice(0, i);
      if (this.#files.has(parent)) throw malformed(`${subject}: '${printable(parent)}' is both a file and a folder`);
      this.#dirs.add(parent);
    }
  }
}
