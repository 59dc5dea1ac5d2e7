// `unshare -n`: run a command in a fresh network namespace with no usable interface, so any attempt
// to open a socket or resolve a name fails. Needs root (CAP_SYS_ADMIN); tests skip visibly without it.
import { spawnSync } from 'node:child_process';

let cached: boolean | undefined;

export function canUnshareNet(): boolean {
  cached ??= spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  return cached;
}

export const UNSHARE_NET = ['unshare', '-n'];
