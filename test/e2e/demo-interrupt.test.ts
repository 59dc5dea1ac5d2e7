// `airlock demo` stopped half-way, by a signal sent to its pid alone (a service manager, `kill PID`) or
// as a terminal's Ctrl-C: nothing it started may go on running, and none of its temporary files stay.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { descendantsOf } from '../../src/tools/process-tree.ts';
import { AIRLOCK_BIN } from '../helpers/cli.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-demo-interrupt-');

/** Running, not a zombie waiting for init to reap it. */
function running(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    const text = readFileSync(stat, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function stillRunning(pids: readonly number[]): Promise<number[]> {
  for (let i = 0; i < 250 && pids.some(running); i++) await new Promise((r) => setTimeout(r, 20));
  return pids.filter(running);
}

/** Runs the demo until stderr shows `cue`, then sends `signal`; what was running then, and how it ended. */
async function interruptedDemo(name: string, cue: RegExp, signal: NodeJS.Signals) {
  const tmp = join(dir, name, 'tmp');
  await mkdir(tmp, { recursive: true });
  // The demo's PostgreSQL runs as nobody when we are root: it must reach its folder, as it does in /tmp.
  for (const d of [dir, join(dir, name), tmp]) await chmod(d, 0o755);
  const child = spawn(process.execPath, [AIRLOCK_BIN, 'demo'], {
    env: { ...process.env, TMPDIR: tmp, AIRLOCK_HOME: join(dir, name, 'home'), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const started = await new Promise<number[]>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const before = err;
      err += d;
      if (cue.test(err) && !cue.test(before)) {
        const pids = descendantsOf(child.pid as number);
        child.kill(signal);
        resolve(pids);
      }
    });
    child.once('close', () => reject(new Error(`the demo ended before ${cue}:\n${err.slice(-2000)}`)));
  });
  return { code: await closed, err, started, tmp };
}

describe('airlock demo, interrupted', () => {
  for (const [name, cue, signal, code, what] of [
    ['registry', /checkpoints signed by/, 'SIGTERM', 143, 'the registry and the on-prem log running'],
    ['postgres', /: standby {3}\(GET \/healthz\)/, 'SIGINT', 130, 'PostgreSQL and two log serve processes running'],
  ] as const)
    it(`by ${signal} with ${what}: exits ${code}, everything it started is gone, no temporary file stays`, async () => {
      const r = await interruptedDemo(name, cue, signal);
      assert.equal(r.code, code, r.err.slice(-2000));
      assert.match(r.err, new RegExp(`Demo interrupted \\(${signal}\\)`));
      assert.ok(r.started.length >= (name === 'postgres' ? 4 : 1), `processes running at the cue: ${r.started}`);
      assert.deepEqual(await stillRunning(r.started), [], 'processes the demo started outlived it');
      // Node's own module compile cache lives in the temporary folder too; it is not the demo's.
      const left = (await readdir(r.tmp)).filter((f) => f !== 'node-compile-cache');
      assert.deepEqual(left, [], 'the demo left temporary files');
    });
});
