// Runs `airlock log serve` (and other serving commands, such as `log witness-serve`) as real child
// processes on random loopback ports, for e2e and crash tests: start, wait for the "serving" line, stop
// with SIGTERM or kill with SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AIRLOCK_BIN, runCliProcess } from './cli.ts';

export interface TestLog extends RunningServer {
  readonly origin: string;
  readonly dataDir: string;
  readonly publicKeyPath: string;
}

/** A fresh Ed25519 log key at `prefix`.key/.pub, encrypted with AIRLOCK_PASSWORD=pw. */
export async function makeLogKey(prefix: string): Promise<void> {
  const r = await runCliProcess(['key', 'generate', '--algorithm', 'ed25519', '--output-key-prefix', prefix], {
    env: { AIRLOCK_PASSWORD: 'pw' },
  });
  if (r.code !== 0) throw new Error(`key generate failed: ${r.stderr}`);
}

/** A `log serve` process just spawned: `ready` settles once it serves (or exits first). */
export interface SpawnedLog {
  readonly child: ChildProcess;
  readonly ready: Promise<TestLog>;
  /** What it wrote to stderr so far: a refusal's code and message. */
  readonly stderr: () => string;
  /** SIGKILL, at any moment (also before it serves); resolves once it is gone. */
  kill(): Promise<void>;
}

export async function startLog(
  dataDir: string,
  keyPath: string,
  options: { port?: number; extra?: string[] } = {},
): Promise<TestLog> {
  return spawnLog(dataDir, keyPath, options).ready;
}

export function spawnLog(
  dataDir: string,
  keyPath: string,
  options: { port?: number; extra?: string[] } = {},
): SpawnedLog {
  const spawned = spawnServer([
    'log',
    'serve',
    '--data',
    dataDir,
    '--key',
    keyPath,
    '--origin',
    '127.0.0.1',
    '--listen',
    `127.0.0.1:${options.port ?? 0}`,
    ...(options.extra ?? []),
  ]);
  const ready = spawned.ready.then((s): TestLog => ({
    ...s,
    origin: '127.0.0.1',
    dataDir,
    publicKeyPath: join(dataDir, 'log.pub'),
  }));
  // A log killed on purpose before it serves rejects `ready`; that is no unhandled rejection.
  ready.catch(() => undefined);
  return { child: spawned.child, ready, stderr: spawned.stderr, kill: spawned.kill };
}

/** A long-running airlock command (log serve, log witness-serve) as it serves. */
export interface RunningServer {
  readonly url: string;
  readonly child: ChildProcess;
  /** JSON log lines written so far. */
  readonly lines: () => Array<Record<string, unknown>>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/**
 * Spawns `airlock ARGS` (AIRLOCK_PASSWORD=pw); `ready` settles with its URL once it logs "serving", or rejects if it
 * exits first.
 */
export function spawnServer(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): { child: ChildProcess; ready: Promise<RunningServer>; stderr: () => string; kill(): Promise<void> } {
  const child = spawn(process.execPath, [AIRLOCK_BIN, ...args], {
    env: { ...process.env, AIRLOCK_PASSWORD: 'pw', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const what = args.slice(0, 2).join(' ');
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${err}`)), 20_000);
    const poll = setInterval(() => {
      const serving = lines().find((l) => l.msg === 'serving');
      if (serving) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(String(serving.url));
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(Object.assign(new Error(`${what} exited with ${code}: ${err}`), { stderr: err, code }));
    });
  });
  const kill = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  const ready = url.then((u): RunningServer => ({
    url: u,
    child,
    lines,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill,
  }));
  ready.catch(() => undefined);
  return { child, ready, stderr: () => err, kill };
}

/**
 * Writes a trusted root naming `log` (as `airlock trust create --rekor=...` does), with `publicKeyPath` as its key
 * unless another is given.
 */
export async function writeTrustedRootFor(log: TestLog, out: string, publicKeyPath = log.publicKeyPath): Promise<void> {
  const r = await runCliProcess([
    'trust',
    'create',
    '--out',
    out,
    `--rekor=url=${log.url},public-key=${publicKeyPath},start-time=2026-01-01T00:00:00Z,origin=${log.origin}`,
  ]);
  if (r.code !== 0) throw new Error(`trust create failed: ${r.stderr}`);
}
