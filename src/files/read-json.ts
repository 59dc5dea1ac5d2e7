// Reading a JSON input file with the two failures told apart: missing or unreadable (exit 3, I/O) and
// not JSON (exit 3, malformed), each naming the file and what it was meant to be. The read is bounded,
// whatever the path is (a FIFO or a device never ends): past the limit it stops and refuses.
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { readFileBounded } from './read-file.ts';

/** Default bound: SBOMs of large images run to tens of MiB; nothing airlock reads as JSON needs more. */
export const MAX_JSON_FILE = 256 * 1024 * 1024;

export async function readJsonFile(path: string, what: string, maxBytes = MAX_JSON_FILE): Promise<unknown> {
  const bytes = await readFileBounded(path, maxBytes, what);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${bounded(path)}: ${what} is not JSON`, { cause: err });
  }
}
