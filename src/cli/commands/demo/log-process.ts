// `airlock log serve` as a process of its own, for the demo's PostgreSQL scene: a sequencer must be
// killable with SIGKILL, which only a real process is. The same airlock (this Node, bin/airlock.js)
// runs it; its password and key password come in its environment, never in its arguments.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AirlockError } from '../../../errors.ts';
import { bounded } from '../../../text.ts';

const AIRLOCK_BIN = fileURLToPath(new URL('../../../../bin/airlock.js', import.meta.url));
const START_MS = 20_000;

export interface LogProcess {
  readonly url: string;
  readonly pid: number;
  /** JSON log lines it wrote so far, in order. */
  lines(): Array<Record<string, unknown>>;
  /** SIGKILL: a crash, as a power cut or the OOM killer would; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, as an operator stops it; resolves once it is gone. */
  stop(): Promise<void>;
}

const gone = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function parsedLines(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line still being written.
    }
  }
  return out;
}

/** Spawns `airlock log serve ARGS` and resolves once it says it serves; `onSpawn` sees it before that. */
export function startLogProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  onSpawn: (log: LogProcess) => void,
): Promise<LogProcess> {
  const child = spawn(process.execPath, [AIRLOCK_BIN, 'log', 'serve', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = async (signal: NodeJS.Signals) => {
    if (!gone(child)) child.kill(signal);
    await exited;
  };
  const log = (url: string): LogProcess => ({
    url,
    pid: child.pid ?? 0,
    lines: () => parsedLines(out),
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  });
  onSpawn(log(''));
  return new Promise((resolve, reject) => {
    const failed = (why: string) =>
      new AirlockError(
        'E_UNAVAILABLE',
        `airlock log serve ${why}: ${bounded(err.trim().split('\n').slice(-2).join(' / '))}`,
      );
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(failed(`did not start within ${START_MS / 1000} s`));
    }, START_MS);
    const poll = setInterval(() => {
      const serving = parsedLines(out).find((l) => l.msg === 'serving');
      if (!serving) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(log(String(serving.url)));
    }, 20);
    void exited.then(() => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(failed(`exited (${child.exitCode ?? child.signalCode}) before it served`));
    });
  });
}
