import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { acquireLock } from './lock-file.ts';

const LOCK_FILE = fileURLToPath(new URL('./lock-file.ts', import.meta.url));
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

/**
 * A process that, at `at` (ms since the epoch), tries to take the lock and prints 'won' or the refusal's code; it
 * then waits for its stdin to close, and releases the lock if it won.
 */
function contender(path: string, at: number): { answer: Promise<string>; release(): Promise<void> } {
  const script = `
    const { acquireLock } = await import(${JSON.stringify(LOCK_FILE)});
    while (Date.now() < ${at}) {}
    let held;
    try {
      held = await acquireLock(${JSON.stringify(path)}, 'the race');
      process.stdout.write('won\\n');
    } catch (err) {
      process.stdout.write(String(err.code) + '\\n');
    }
    await new Promise((r) => process.stdin.on('end', r).resume());
    await held?.release();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.on('error', () => undefined); // a contender that crashed: its answer says so
  let out = '';
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const answer = new Promise<string>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    void closed.then(() => resolve(out));
  });
  return {
    answer,
    release: () => {
      child.stdin.end();
      return closed;
    },
  };
}

const dir = useTempDir('airlock-lock-');

describe('acquireLock', () => {
  it('is exclusive while held, free again once released', async () => {
    const path = join(dir, 'sub', 'a.lock');
    const held = await acquireLock(path, 'channel a');
    assert.match(await readFile(path, 'utf8'), new RegExp(`^${process.pid} [0-9a-f]{32}\\n$`));
    await assert.rejects(acquireLock(path, 'channel a'), {
      code: 'E_UNAVAILABLE',
      message: new RegExp(`channel a is in use by process ${process.pid}`),
    });
    await held.release();
    await (await acquireLock(path, 'channel a')).release();
  });

  it('takes over a lock whose owner is gone, or that is empty', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const path = join(dir, 'stale.lock');
    for (const body of [`${gone.stdout}\n`, '']) {
      await writeFile(path, body);
      const held = await acquireLock(path, 'stale');
      assert.match(await readFile(path, 'utf8'), new RegExp(`^${process.pid} `));
      await held.release();
    }
  });

  // Attack surface: two processes that both find a dead holder must not both take its lock over.
  it("exactly one of many processes racing for a dead holder's lock takes it over, round after round", async () => {
    const rounds: string[][] = [];
    for (let round = 0; round < 10; round++) {
      const path = join(dir, `race-${round}.lock`);
      await writeFile(path, round % 3 === 0 ? '' : `${deadPid()}\n`); // old-format and empty stale locks too
      const at = Date.now() + 600;
      const racers = Array.from({ length: 6 }, () => contender(path, at));
      // The winner holds until every contender has made its attempt, however late it started under load: a
      // later one must meet a live owner.
      rounds.push(await Promise.all(racers.map((r) => r.answer)));
      await Promise.all(racers.map((r) => r.release()));
    }
    const winners = rounds.map((r) => r.filter((o) => o === 'won').length);
    assert.deepEqual(
      winners,
      rounds.map(() => 1),
      JSON.stringify(rounds),
    );
    for (const r of rounds) assert.deepEqual(r.filter((o) => o !== 'won').sort(), Array(5).fill('E_UNAVAILABLE'));
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('race-')),
      [],
      'every lock released, no helper file left',
    );
  });

  it('a takeover interrupted by a crash (its guard left, its holder dead) does not block the next one', async () => {
    const { createHash } = await import('node:crypto');
    const path = join(dir, 'interrupted.lock');
    const stale = `${deadPid()} aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n`;
    await writeFile(path, stale);
    const guard = `${path}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 32)}`;
    await writeFile(guard, `${deadPid()} bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n`);
    await writeFile(`${path}.tmp-${deadPid()}-0123456789ab`, 'a helper file of a killed taker');
    const held = await acquireLock(path, 'interrupted');
    assert.match(await readFile(path, 'utf8'), new RegExp(`^${process.pid} `));
    await held.release();
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('interrupted.lock')),
      [],
      'guards and helper files gone',
    );
  });

  it('release() never removes a lock someone else holds by then', async () => {
    const path = join(dir, 'taken.lock');
    const held = await acquireLock(path, 'taken');
    // Another holder's lock in its place (what a takeover leaves), written as a takeover writes it.
    await writeFile(`${path}.other`, `${process.ppid} 00112233445566778899aabbccddeeff\n`);
    await rename(`${path}.other`, path);
    await held.release();
    assert.equal(await readFile(path, 'utf8'), `${process.ppid} 00112233445566778899aabbccddeeff\n`);
    await assert.rejects(acquireLock(path, 'taken'), {
      code: 'E_UNAVAILABLE',
      message: new RegExp(`in use by process ${process.ppid}`),
    });
  });
});
