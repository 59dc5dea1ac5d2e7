// Reading a whole input file that is meant to be small (a bundle, a checkpoint, a signature) without
// trusting it to be: a regular file over the bound is refused from its size, and anything else — a
// FIFO, a device, a shell's `<(...)`, a file that grows while read — is read until one byte past the
// bound at most. Memory stays within the bound whatever the path turns out to be.
import { open } from 'node:fs/promises';
import { AirlockError, fromFsError } from '../errors.ts';
import { bounded } from '../text.ts';

const STREAM_CHUNK = 64 * 1024;

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB` : `${bytes} bytes`;
}

/** The bytes of `path`, or E_INPUT_MALFORMED naming `what` when it holds more than `maxBytes`. */
export async function readFileBounded(path: string, maxBytes: number, what: string): Promise<Buffer> {
  const tooLarge = (size?: number) =>
    new AirlockError(
      'E_INPUT_MALFORMED',
      `${bounded(path)}: ${size === undefined ? 'more' : mib(size)} of data; ${what} is at most ${mib(maxBytes)}`,
      {
        hint: `this is not ${what}, or it was damaged`,
        details: { path, maxBytes, ...(size === undefined ? {} : { size }) },
      },
    );
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fromFsError(err, path);
  }
  try {
    const st = await handle.stat();
    if (st.isFile() && st.size > maxBytes) throw tooLarge(st.size);
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(
        st.isFile() ? Math.min(maxBytes + 1 - total, Math.max(st.size - total + 1, 1)) : STREAM_CHUNK,
      );
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(parts, total);
      total += bytesRead;
      if (total > maxBytes) throw tooLarge();
      parts.push(chunk.subarray(0, bytesRead));
    }
  } catch (err) {
    throw err instanceof AirlockError ? err : fromFsError(err, path);
  } finally {
    await handle.close();
  }
}

/**
 * What an input file read whole may hold unless its reader says otherwise (keys, CA bundles, keyrings, signers files).
 */
export const MAX_INPUT_FILE = 64 * 1024 * 1024;

/**
 * The bytes of an input file named on the command line or in a config: a coded error if it cannot be read
 * (E_INPUT_MISSING, E_IO), bounded.
 */
export function readInputFile(path: string, what = 'an input file', maxBytes = MAX_INPUT_FILE): Promise<Buffer> {
  return readFileBounded(path, maxBytes, what);
}

/** As readInputFile, as UTF-8 text. */
export async function readInputText(path: string, what = 'an input file', maxBytes = MAX_INPUT_FILE): Promise<string> {
  return (await readFileBounded(path, maxBytes, what)).toString('utf8');
}

/**
 * Why a read failed, as the system said it (the Node error's code and message), for a caller that
 * words the failure for its own state; an AirlockError that no system error caused (a bound) is its own.
 */
export interface ReadFailure {
  readonly error: AirlockError;
  readonly systemCode: string | undefined;
  readonly reason: string;
}

/**
 * A state file that may not exist yet: its text, or undefined when there is none. Any other failure is
 * the coded error of `readFileBounded`, or what `unreadable` makes of it for this state.
 */
export async function readOptionalText(
  path: string,
  what = 'a state file',
  maxBytes = MAX_INPUT_FILE,
  unreadable?: (failure: ReadFailure) => AirlockError,
): Promise<string | undefined> {
  try {
    return (await readFileBounded(path, maxBytes, what)).toString('utf8');
  } catch (err) {
    if (err instanceof AirlockError && err.code === 'E_INPUT_MISSING') return undefined;
    if (unreadable && err instanceof AirlockError) throw unreadable(readFailure(err));
    throw err;
  }
}

function readFailure(error: AirlockError): ReadFailure {
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  return cause instanceof Error
    ? { error, systemCode: cause.code, reason: cause.message }
    : { error, systemCode: undefined, reason: error.message };
}
