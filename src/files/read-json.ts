// Reading a JSON input file with the two failures told apart: missing or unreadable (exit 3, I/O) and
// not JSON (exit 3, malformed), each naming the file and what it was meant to be.
import { readFile } from 'node:fs/promises';
import { AirlockError, fromFsError } from '../errors.ts';

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fromFsError(err, path);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${path}: ${what} is not JSON`, { cause: err });
  }
}
