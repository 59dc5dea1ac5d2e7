// Where accepted payload files land. Every folder and file this import creates is recorded, so a
// failure removes exactly those and leaves whatever the staging folder held before untouched.
import { type FileHandle, lstat, mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, fromFsError } from '../../errors.ts';
import { printable } from './paths.ts';

function exists(path: string): AirlockError {
  return new AirlockError('E_OUTPUT_EXISTS', `${path} already exists in the staging folder`, {
    hint: 'import into an empty staging folder',
  });
}

export class Staging {
  readonly root: string;
  /** Package-relative folders known to be real folders (not symlinks) under root. */
  readonly #dirs = new Set<string>(['']);
  readonly #createdDirs: string[] = [];
  readonly #createdFiles: string[] = [];

  private constructor(root: string) {
    this.root = root;
  }

  static async open(root: string): Promise<Staging> {
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
      // The root is the caller's choice and may be reached through a symlink; below it nothing is.
      if (!(await stat(root)).isDirectory())
        throw new AirlockError('E_INPUT_MALFORMED', `staging folder ${root} is not a folder`);
    } catch (err) {
      throw err instanceof AirlockError ? err : fromFsError(err, root, 'create');
    }
    return new Staging(root);
  }

  /** Creates `<root>/<path>` exclusively (never through a symlink), making its folders as needed. */
  async create(path: string): Promise<FileHandle> {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) await this.#dir(parts.slice(0, i).join('/'));
    const abs = join(this.root, path);
    try {
      // 'wx' is O_CREAT|O_EXCL: it fails on any existing name, a dangling symlink included.
      const handle = await open(abs, 'wx', 0o644);
      this.#createdFiles.push(abs);
      return handle;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists(printable(path));
      throw fromFsError(err, abs, 'create');
    }
  }

  async #dir(rel: string): Promise<void> {
    if (this.#dirs.has(rel)) return;
    const abs = join(this.root, rel);
    try {
      await mkdir(abs, { mode: 0o755 });
      this.#createdDirs.push(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromFsError(err, abs, 'create');
      // An existing name is only usable if it is a real folder: writing through a symlink would
      // put payload bytes outside the staging folder.
      const st = await lstat(abs).catch((e: unknown) => {
        throw fromFsError(e, abs);
      });
      if (!st.isDirectory()) throw exists(printable(rel));
    }
    this.#dirs.add(rel);
  }

  /** Removes what this import created: files first, then its folders deepest first. */
  async rollback(): Promise<void> {
    for (const file of this.#createdFiles.splice(0).reverse()) await rm(file, { force: true });
    for (const dir of this.#createdDirs.splice(0).reverse())
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    this.#dirs.clear();
    this.#dirs.add('');
  }
}
