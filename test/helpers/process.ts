// Starts and stops the external processes tests drive for real (registry, TSA front ends, servers) on
// free loopback ports, and always cleans up: every started process is killed when the test run ends,
// even if a test forgets or fails half-way.
import { type ChildProcess, spawn } from 'node:child_process';
import { freeLoopbackPort } from '../../src/net/loopback.ts';

const running = new Set<ChildProcess>();

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export const freePort: () => Promise<number> = freeLoopbackPort;

/** Ready once an airlock server has logged its whole `"msg":"serving"` line, the one with its URL. */
export const SERVING_LINE = /"msg":"serving"[^\n]*\n/;

/**
 * The port of the URL an airlock server started with `--listen 127.0.0.1:0` logged on its serving line
 * (readyWhen: { output: SERVING_LINE }). Port 0 lets the server bind a port no one else holds; a port
 * from freePort is free only until the server, a second or more later, binds it.
 */
export function servingPort(started: StartedProcess): number {
  const line = started
    .output()
    .split('\n')
    .find((l) => SERVING_LINE.test(`${l}\n`));
  const url = (JSON.parse(line ?? '{}') as { url?: string }).url;
  const port = url === undefined ? 0 : Number(new URL(url).port);
  if (!(port > 0)) throw new Error(`no URL with a port on the serving line:\n${started.output()}`);
  return port;
}

export interface StartOptions {
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Resolves once the process is ready: a line of its output matches, or a TCP port accepts. */
  readonly readyWhen: { output: RegExp } | { port: number };
  readonly timeoutMs?: number;
}

export interface StartedProcess {
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  });
}

export async function startProcess(options: StartOptions): Promise<StartedProcess> {
  const child = spawn(options.command, options.args ?? [], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let log = '';
  let exited = false;
  child.on('exit', () => {
    exited = true;
    running.delete(child);
  });
  const collect = (d: Buffer) => {
    log += d.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = async () => {
    if (exited) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const ready = options.readyWhen;
  for (;;) {
    if (exited) throw new Error(`${options.command} exited before it was ready:\n${log}`);
    if ('output' in ready ? ready.output.test(log) : await portAccepts(ready.port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${options.command} was not ready within ${options.timeoutMs ?? 15_000} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => log, stop };
}
