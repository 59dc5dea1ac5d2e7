// Reading a JSON input file with the two failures told apart: missing or unreadable (exit 3, I/O) and
// not JSON (exit 3, malformed), each naming the file and what it was meant to be. The read is bounded,
// whatever the path is (a FIFO or a device never ends): past the limit it stops and refuses.
import { open } from 'node:fs/promises';
import { AirlockError, fromFsError } from '../errors.ts';
import { bounded } from '../text.ts';

/** Default bound: SBOMs of large images run to tens of MiB; nothing airlock reads as JSON needs more. */
export const MAX_JSON_FILE = 256 * 1024 * 1024;

async function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  const handle = await open(path, 'r').catch((err: unknown) => {
    throw fromFsError(err, path);
  });
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, max + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > max) throw new AirlockError('E_INPUT_MALFORMED', `${bounded(path)}: ${what} is larger than ${max} bytes`);
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    throw err instanceof AirlockError ? err : fromFsError(err, path);
  } finally {
    await handle.close();
  }
}

export async function readJsonFile(path: string, what: string, maxBytes = MAX_JSON_FILE): Promise<unknown> {
  const bytes = await readBounded(path, maxBytes, what);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(path)}: ${what} is not JSON`, { cause: err });
  }
}
