// Runs `airlock log serve` as a real child process on a random loopback port, for e2e and crash
// tests: start, wait for its "serving" line, stop with SIGTERM or kill with SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AIRLOCK_BIN, runCliProcess } from './cli.ts';

export interface TestLog {
  readonly url: string;
  readonly origin: string;
  readonly dataDir: string;
  readonly publicKeyPath: string;
  readonly child: ChildProcess;
  /** JSON log lines written so far. */
  readonly lines: () => Array<Record<string, unknown>>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/** A fresh Ed25519 log key at `prefix`.key/.pub, encrypted with AIRLOCK_PASSWORD=pw. */
export async function makeLogKey(prefix: string): Promise<void> {
  const r = await runCliProcess(['key', 'generate', '--algorithm', 'ed25519', '--output-key-prefix', prefix], { env: { AIRLOCK_PASSWORD: 'pw' } });
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

export async function startLog(dataDir: string, keyPath: string, options: { port?: number; extra?: string[] } = {}): Promise<TestLog> {
  return spawnLog(dataDir, keyPath, options).ready;
}

export function spawnLog(dataDir: string, keyPath: string, options: { port?: number; extra?: string[] } = {}): SpawnedLog {
  const child = spawn(process.execPath, [AIRLOCK_BIN, 'log', 'serve', '--data', dataDir, '--key', keyPath, '--origin', '127.0.0.1', '--listen', `127.0.0.1:${options.port ?? 0}`, ...(options.extra ?? [])], {
    env: { ...process.env, AIRLOCK_PASSWORD: 'pw' },
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
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`log serve did not start: ${err}`)), 20_000);
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
      reject(Object.assign(new Error(`log serve exited with ${code}: ${err}`), { stderr: err, code }));
    });
  });
  const kill = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  const ready = url.then((u): TestLog => ({
    url: u,
    origin: '127.0.0.1',
    dataDir,
    publicKeyPath: join(dataDir, 'log.pub'),
    child,
    lines,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill,
  }));
  // A log killed on purpose before it serves rejects `ready`; that is no unhandled rejection.
  ready.catch(() => undefined);
  return { child, ready, stderr: () => err, kill };
}

/** Writes a trusted root naming `log` (as `airlock trust create --rekor=...` does), with `publicKeyPath` as its key unless another is given. */
export async function writeTrustedRootFor(log: TestLog, out: string, publicKeyPath = log.publicKeyPath): Promise<void> {
  const r = await runCliProcess(['trust', 'create', '--out', out, `--rekor=url=${log.url},public-key=${publicKeyPath},start-time=2026-01-01T00:00:00Z,origin=${log.origin}`]);
  if (r.code !== 0) throw new Error(`trust create failed: ${r.stderr}`);
}
