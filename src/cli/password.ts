// Where a key password comes from, in this order: --password-file, AIRLOCK_PASSWORD, COSIGN_PASSWORD
// (set-but-empty means the empty password, as in cosign), then a prompt when stdin is a terminal.
// Never argv: a password on the command line leaks through the process list and shell history.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { PasswordSource } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import type { Env, Io } from './output.ts';
import { readInputText } from '../files/read-file.ts';

export interface PasswordOptions {
  readonly passwordFile?: string;
  /** Ask twice when prompting (key generation). */
  readonly confirm?: boolean;
}

async function promptHidden(io: Io, question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  io.stderr.write(question);
  const rl = createInterface({ input: io.stdin as NodeJS.ReadableStream, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.once('line', resolve));
  } finally {
    rl.close();
    io.stderr.write('\n');
  }
}

/** Reads a password file: the first line, without its newline (as skopeo's --sign-passphrase-file). */
async function readPasswordFile(path: string): Promise<Uint8Array> {
  const text = await readInputText(path, 'a password file', 64 * 1024);
  return Buffer.from(text.split(/\r?\n/)[0] ?? '');
}

export function passwordSource(io: Io, env: Env, options: PasswordOptions = {}): PasswordSource {
  let cached: Uint8Array | undefined;
  return async ({ what }) => {
    if (cached) return cached;
    if (options.passwordFile) cached = await readPasswordFile(options.passwordFile);
    else if (env.AIRLOCK_PASSWORD !== undefined) cached = Buffer.from(env.AIRLOCK_PASSWORD);
    else if (env.COSIGN_PASSWORD !== undefined) cached = Buffer.from(env.COSIGN_PASSWORD);
    else if (io.stdin?.isTTY) {
      const first = await promptHidden(io, `Enter password for ${what}: `);
      if (options.confirm && (await promptHidden(io, `Enter password for ${what} again: `)) !== first) {
        throw new AirlockError('E_USAGE', 'passwords do not match');
      }
      cached = Buffer.from(first);
    } else {
      throw new AirlockError('E_PASSWORD_MISSING', `${what} needs a password and there is no terminal to ask on`, {
        hint: 'set AIRLOCK_PASSWORD (or COSIGN_PASSWORD), or pass --password-file FILE',
      });
    }
    return cached;
  };
}
