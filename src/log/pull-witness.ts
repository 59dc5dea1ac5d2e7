// A pull-mode witness run (`airlock log witness`): fetch a log's latest checkpoint, prove from its
// tiles that it extends the one this witness last cosigned for that origin, then cosign it (C2SP
// tlog-cosignature). The state is locked for the whole run and written before the cosignature is
// returned, so a run that fails or races another leaves the witness's memory as it was.
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { CheckpointWitness } from './checkpoint-witness.ts';
import { decodeBase64, type NoteVerifier } from './note.ts';
import type { TileClient, VerifiedCheckpoint } from './tile-client.ts';
import { lockWitnessState, readWitnessStateFile, type WitnessedLog, writeWitnessStateFile } from './witness-state.ts';

export interface PullWitnessOptions {
  /** A client of the log, opened with the log key the witness pinned. */
  readonly client: TileClient;
  readonly logVerifier: NoteVerifier;
  readonly signer: Signer;
  /** The witness name in cosignature lines. */
  readonly name: string;
  /** The witness state file, absolute. */
  readonly statePath: string;
  /** Start from an empty state when the file does not exist (first run only). */
  readonly init: boolean;
  readonly now: () => Date;
}

export interface PulledCosignature {
  readonly head: VerifiedCheckpoint;
  /** What the state held for this origin before: undefined on the first cosignature. */
  readonly previous: WitnessedLog | undefined;
  readonly proof: Uint8Array[];
  /** The cosignature/v1 line. */
  readonly cosignature: string;
  /** The checkpoint note with the cosignature appended. */
  readonly note: string;
}

/** Cosigns the log's latest checkpoint; E_LOG_INCONSISTENT (with both checkpoints) when it does not extend the last. */
export async function cosignLatestCheckpoint(options: PullWitnessOptions): Promise<PulledCosignature> {
  const lock = await lockWitnessState(options.statePath);
  try {
    return await cosignLocked(options);
  } finally {
    await lock.release();
  }
}

async function cosignLocked(options: PullWitnessOptions): Promise<PulledCosignature> {
  const { statePath } = options;
  const logs = await readWitnessStateFile(statePath, options.init);
  const head = await options.client.latest();
  const { origin } = head.checkpoint;
  const previous = logs.get(origin);
  // The proof comes from the log's tiles; refused here (E_LOG_INCONSISTENT, with both checkpoints) if it does not hold.
  const proof = previous
    ? await head.proveExtends({
        origin,
        size: previous.size,
        rootHash: decodeBase64(previous.root) as Buffer,
        extensions: [],
      })
    : [];
  const witness = new CheckpointWitness({
    name: options.name,
    signer: options.signer,
    logs: [options.logVerifier],
    state: { logs, save: (l) => writeWitnessStateFile(statePath, l) },
    now: options.now,
  });
  const outcome = await witness.addCheckpoint({ oldSize: previous?.size ?? 0, proof, note: head.note });
  if (!outcome.ok)
    throw new AirlockError(outcome.code, outcome.message, outcome.details ? { details: outcome.details } : {});
  return { head, previous, proof, cosignature: outcome.cosignature, note: outcome.note };
}
