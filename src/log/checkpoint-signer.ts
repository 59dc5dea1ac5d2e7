// A log's checkpoints as the engine needs them: signed notes (C2SP tlog-checkpoint) under the log's
// origin, signed by its key (a key file or an HSM: any crypto Signer), opened with its public key.
import type { KeyObject } from 'node:crypto';
import type { Signer } from '../crypto/signer.ts';
import { formatCheckpoint, openCheckpoint } from './checkpoint.ts';
import type { CheckpointSigner } from './engine.ts';
import { signNote } from './note.ts';
import { noteSignerFor, noteVerifierFor } from './note-keys.ts';

/** Opens checkpoints of the log `origin` signed by `publicKey`; throws on anything else. */
export function checkpointOpener(origin: string, publicKey: KeyObject): CheckpointSigner['open'] {
  const verifier = noteVerifierFor(origin, publicKey);
  return (note) => {
    const { checkpoint } = openCheckpoint(note, verifier);
    return { size: checkpoint.size, root: checkpoint.rootHash };
  };
}

export function checkpointSignerFor(origin: string, signer: Signer): CheckpointSigner {
  const noteSigner = noteSignerFor(origin, signer);
  return {
    origin,
    sign: (size, root) => signNote(formatCheckpoint({ origin, size, rootHash: root, extensions: [] }), [noteSigner]),
    open: checkpointOpener(origin, signer.publicKey),
  };
}
