// Runs the airlock CLI in-process with captured streams, or as a real child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MainOptions } from '../../src/cli/main.ts';
import { main } from '../../src/cli/main.ts';
import type { Env } from '../../src/cli/output.ts';

// Every command may record to the audit log under $AIRLOCK_HOME: a test that names no home gets a
// scratch one, never the real ~/.local/state/airlock.
const SCRATCH_HOME = mkdtempSync(join(tmpdir(), 'airlock-test-home-'));
process.once('exit', () => rmSync(SCRATCH_HOME, { recursive: true, force: true }));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Capture {
  text = '';
  isTTY: boolean;
  constructor(isTTY = false) {
    this.isTTY = isTTY;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export interface RunCliOptions extends MainOptions {
  env?: Env;
  tty?: boolean;
  stdin?: string;
}

export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const stdout = new Capture(options.tty);
  const stderr = new Capture(options.tty);
  const stdinText = options.stdin;
  const stdin =
    stdinText === undefined
      ? undefined
      : Object.assign(
          (async function* () {
            yield Buffer.from(stdinText);
          })(),
          { isTTY: false },
        );
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, AIRLOCK_HOME: SCRATCH_HOME, ...options.env };
  const code = await main(argv, { stdout, stderr, ...(stdin ? { stdin } : {}) }, env, options);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export const AIRLOCK_BIN = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));

/** Runs bin/airlock.js in a child process with the same Node as the test runner. */
export function runCliProcess(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; prefix?: string[] } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = options.prefix ?? [];
    const file = cmd ?? process.execPath;
    const args = cmd ? [...pre, process.execPath, AIRLOCK_BIN, ...argv] : [AIRLOCK_BIN, ...argv];
    const child = spawn(file, args, {
      env: { ...process.env, AIRLOCK_HOME: process.env.AIRLOCK_HOME ?? SCRATCH_HOME, ...options.env },
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
