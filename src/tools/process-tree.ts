// The processes a process started, read from /proc (Linux): what a command stops on its way out when a
// signal ends it before its own clean-up can run, and the backends a PostgreSQL postmaster started
// (each in a session of its own, so no process group holds them).
import { readdirSync, readFileSync } from 'node:fs';

/** Every running process's parent, by pid. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the parent pid is the 2nd field after it.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      out.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** The processes `pid` started that still run. */
export function childrenOf(pid: number): number[] {
  return [...parents()].filter(([, parent]) => parent === pid).map(([child]) => child);
}

/** The processes `pid` started, theirs, and so on: parents before their children. */
export function descendantsOf(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [child, parent] of parents()) byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  const out: number[] = [];
  for (let next = [pid]; next.length > 0;) {
    next = next.flatMap((p) => byParent.get(p) ?? []);
    out.push(...next);
  }
  return out;
}

/** SIGKILL to every process `pid` started (not `pid` itself); the pids signalled. */
export function killDescendants(pid: number): number[] {
  const pids = descendantsOf(pid);
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return pids;
}
