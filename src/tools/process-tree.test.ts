import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { childrenOf, descendantsOf, killDescendants } from './process-tree.ts';

/** Resolves once `pid` has `n` descendants (a shell starting its jobs). */
async function untilDescendants(pid: number, n: number): Promise<number[]> {
  for (let i = 0; i < 500; i++) {
    const found = descendantsOf(pid);
    if (found.length >= n) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} never had ${n} descendants`);
}

describe('the process tree', () => {
  it('finds children and their children, and kills them all but the caller', async () => {
    // A shell with two sleeping jobs, one of them under a shell of its own: two levels below it.
    const shell = spawn('sh', ['-c', 'sleep 60 & sh -c "sleep 60 & wait" & wait'], { stdio: 'ignore' });
    const exited = once(shell, 'exit');
    const pid = shell.pid as number;
    const below = await untilDescendants(pid, 3);
    assert.ok(childrenOf(process.pid).includes(pid));
    assert.ok(descendantsOf(process.pid).includes(pid));
    assert.ok(below.every((p) => descendantsOf(process.pid).includes(p)));
    assert.equal(childrenOf(pid).length, 2, 'the shell started two jobs');
    assert.deepEqual(descendantsOf(pid).slice(0, 2).sort(), childrenOf(pid).sort(), 'parents come first');

    const killed = killDescendants(pid);
    assert.deepEqual(killed.sort(), below.sort());
    await exited; // its jobs were killed, so its `wait` returns
    for (const p of below) await untilGone(p);
    assert.deepEqual(descendantsOf(pid), []);
  });

  it('answers none for a process that started nothing, or is not there', () => {
    assert.deepEqual(childrenOf(2 ** 22 + 1), []);
    assert.deepEqual(descendantsOf(2 ** 22 + 1), []);
    assert.deepEqual(killDescendants(2 ** 22 + 1), []);
  });
});

async function untilGone(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} still runs`);
}
