// Every file airlock writes goes through here: temp file in the same directory, fsync, rename, fsync
// of the directory. A crash leaves the old file or the new one, never half of either.
import { constants } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';

export interface AtomicWriteOptions {
  /** File mode of the new file (0o600 for secrets). */
  readonly mode?: number;
  /** Replace an existing file; otherwise E_OUTPUT_EXISTS. */
  readonly overwrite?: boolean;
}

export async function pathExists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  if (!options.overwrite && (await pathExists(path))) {
    throw new AirlockError('E_OUTPUT_EXISTS', `${path} already exists`, { hint: 'pass --force to overwrite it' });
  }
  const mode = options.mode ?? 0o644;
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.chmod(mode); // the umask must not widen a private key's mode
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    const dir = await open(dirname(path), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromFsError(err, path, 'write');
  }
}
