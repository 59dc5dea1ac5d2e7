// "This checkpoint extends that one": the check behind `log verify --since`, witnessing, and the
// audit checkpoints carried across the gap. Two signed checkpoints of one log that fail it are
// evidence the log was rewritten or forked (a split view), so the refusal names both.
import { AirlockError } from '../errors.ts';
import type { Checkpoint } from './checkpoint.ts';
import { verifyConsistency } from './merkle.ts';

export function checkExtends(older: Checkpoint, newer: Checkpoint, proof: readonly Uint8Array[]): void {
  const b64 = (r: Uint8Array) => Buffer.from(r).toString('base64');
  const inconsistent = (why: string) =>
    new AirlockError(
      'E_LOG_INCONSISTENT',
      `${newer.origin}: the checkpoint at size ${newer.size} ${why} the one at size ${older.size}`,
      {
        hint: 'keep both checkpoints: two signed, inconsistent checkpoints prove the log was rewritten or forked',
        details: {
          origin: newer.origin,
          older: { size: older.size, root: b64(older.rootHash) },
          newer: { size: newer.size, root: b64(newer.rootHash) },
        },
      },
    );
  if (older.origin !== newer.origin) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `checkpoints of two logs (${older.origin}, ${newer.origin}) cannot be compared`,
    );
  }
  if (newer.size < older.size) throw inconsistent('is smaller than');
  if (!verifyConsistency(older.size, newer.size, older.rootHash, newer.rootHash, proof))
    throw inconsistent('does not extend');
}
