// Finding and running the external programs airlock works with (gpg, skopeo, docker-registry,
// openssl). Arguments are passed as an array, never through a shell; secrets never go in argv.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { AirlockError } from '../errors.ts';

/** The first executable named `name` on `pathList` (a PATH value), or undefined. */
export async function findExecutable(name: string, pathList: string | undefined): Promise<string | undefined> {
  for (const dir of (pathList ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly cwd?: string;
  readonly input?: string | Uint8Array;
  /** Run as this user (a program that refuses root, such as initdb, when airlock runs as root). */
  readonly uid?: number;
  readonly gid?: number;
}

/** Runs a program to completion; E_UNAVAILABLE when it cannot start, fails or times out. */
export function runProgram(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env,
        cwd: options.cwd,
        ...(options.uid === undefined ? {} : { uid: options.uid }),
        ...(options.gid === undefined ? {} : { gid: options.gid }),
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.trim().split('\n').slice(-3).join(' / ') || err.message;
          reject(new AirlockError('E_UNAVAILABLE', `${file} ${args[0] ?? ''} failed: ${detail}`, { cause: err }));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
