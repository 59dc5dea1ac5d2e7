// The processes a process started, read from /proc (Linux): what a command stops on its way out when a
// signal ends it before its own clean-up can run, and the backends a PostgreSQL postmaster started
// (each in a session of its own, so no process group holds them).
import { readdirSync, readFileSync } from 'node:fs';

/** Every running process's parent, by pid; none where there is no /proc (not Linux). */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
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

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
};

/**
 * SIGKILL to every process `pid` started (not `pid` itself). They are stopped first (SIGSTOP), round
 * after round until no new one appears, so none can start another between the reading of /proc and
 * the kill: a child of a killed parent goes to init, out of reach. The pids signalled.
 */
export function killDescendants(pid: number): number[] {
  const stopped = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const fresh = descendantsOf(pid).filter((p) => !stopped.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      stopped.add(p);
      signal(p, 'SIGSTOP');
    }
  }
  for (const p of stopped) signal(p, 'SIGKILL');
  return [...stopped];
}
