// What the log client commands report about the checkpoint they verified, and the pin their examples show.
import { type VerifiedCheckpoint } from '../../../log/tile-client.ts';

export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export function summary(head: VerifiedCheckpoint, url: string) {
  const { origin, size, rootHash } = head.checkpoint;
  return { url, origin, size, root: b64(rootHash) };
}

// ---------------------------------------------------------------------------------------------------

export const PIN_EXAMPLE = '--vkey /var/lib/airlock-log/log.vkey';
