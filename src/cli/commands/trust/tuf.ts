// What trust mirror and trust import share: the pinned TUF root both start from, the grace they allow
// timestamp and snapshot, and the hint an expired repository gets.
import { AirlockError, isAirlockError } from '../../../errors.ts';
import { DEFAULT_GRACE_DAYS } from '../../../trust/freshness.ts';
import type { Flags } from '../../args.ts';
import { readInputFile } from '../../../files/read-file.ts';

export async function readPinnedRoot(flags: Flags): Promise<Uint8Array> {
  const path = flags.string('root');
  if (!path)
    throw new AirlockError(
      'E_USAGE',
      '--root PINNED_ROOT.json is required: trust starts from a root you chose, never from the mirror',
    );
  return readInputFile(path, 'a pinned TUF root', 1024 * 1024);
}

/**
 * An E_TUF_EXPIRED with the hint of the command that met it: trust mirror reads a repository whose
 * own signing has lapsed (only its operator can fix that; the air-gapped side can bridge with a
 * break-glass import of a copy), trust import a mirror that got old on the way.
 */
export function withExpiryHint(err: unknown, command: 'mirror' | 'import'): unknown {
  if (!isAirlockError(err, 'E_TUF_EXPIRED')) return err;
  const tolerant = err.details?.latencyTolerant === true;
  const hint =
    command === 'mirror'
      ? `the repository itself has expired: a mirror of it now would be just as stale. ` +
        (tolerant
          ? 'Mirror again once its timestamp is re-signed (or accept more latency with --grace DAYS); '
          : 'Mirror again once it is re-signed; ') +
        ('to bridge until then, copy the repository folder (metadata/ and targets/) across and ' +
          'import it there with `airlock trust import DIR --root FILE --break-glass --reason TEXT ' +
          '--until TIME` (at most 14 days, recorded): see docs/trust.md')
      : 'run `airlock trust mirror` on the connected side and carry the new mirror across; if that ' +
        'cannot happen in time, --break-glass --reason TEXT [--until TIME] accepts it for at most ' +
        '14 days (recorded)';
  return new AirlockError(err.code, err.message, {
    cause: err,
    hint,
    ...(err.details ? { details: err.details } : {}),
  });
}

export const GRACE_FLAG = {
  type: 'string',
  value: 'DAYS',
  description: 'Accepted transfer latency: timestamp/snapshot may be this many days past expiry',
  default: String(DEFAULT_GRACE_DAYS),
} as const;
