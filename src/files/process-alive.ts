// Whether a process still runs, for files named after their owner's pid (locks, staging folders, temp
// files): only a process that is gone may have its leftovers removed.

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
