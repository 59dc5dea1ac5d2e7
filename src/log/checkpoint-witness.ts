// The witness's decision (C2SP tlog-witness v1.0.0, "add-checkpoint"): cosign a log's checkpoint only
// if the log signed it, it names the size this witness last cosigned for that origin, and it is proven
// consistent with that tree. Both `airlock log witness` modes go through here: the pull mode (it
// fetches the checkpoint and proof from the log's tiles) and the push mode (logs POST them to it).
//
// Requests are handled one at a time, so checking `old` and recording the new size are one step, and
// the new state is durable before the cosignature is returned: a witness that crashes right after
// answering still refuses a rollback to anything before what it cosigned. With a recorder, each
// cosignature and each 422 (a checkpoint the log signed that does not extend what was cosigned: evidence
// of a forked or rewritten log) is in the audit trail before the answer leaves; a cosignature that
// cannot be recorded is not handed out. A 403 is not recorded: anyone can send a bad signature.
import type { Recorder } from '../recorder.ts';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError, type ErrorCode, isAirlockError } from '../errors.ts';
import { openCheckpoint, parseCheckpoint } from './checkpoint.ts';
import { cosignCheckpoint } from './cosignature.ts';
import { EMPTY_ROOT, verifyConsistency } from './merkle.ts';
import { type NoteVerifier, parseNote, parseSignatureLine, serializeNote } from './note.ts';
import type { AddCheckpointRequest } from './witness-protocol.ts';
import type { WitnessedLog, WitnessState } from './witness-state.ts';

/** Where the witness keeps its state; `save` must be durable when it resolves. */
export interface WitnessStateStore {
  readonly logs: WitnessState;
  save(logs: WitnessState): Promise<void>;
}

export interface Cosigned {
  readonly ok: true;
  /** The cosignature line, newline included. */
  readonly cosignature: string;
  /** The checkpoint with the log's signature and this witness's cosignature only. */
  readonly note: string;
  readonly origin: string;
  readonly size: number;
  readonly previous: WitnessedLog | undefined;
}

/** A refusal, with the status tlog-witness gives it. 409 carries the size last cosigned. */
export interface Refused {
  readonly ok: false;
  readonly status: 400 | 403 | 404 | 409 | 422;
  readonly code: ErrorCode;
  readonly message: string;
  readonly latestSize?: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface CheckpointWitnessOptions {
  /** The cosigner name in signature lines. */
  readonly name: string;
  /** Ed25519 (cosignature/v1). */
  readonly signer: Signer;
  /** The logs this witness follows; each verifier's name is the log's origin. */
  readonly logs: readonly NoteVerifier[];
  readonly state: WitnessStateStore;
  readonly now: () => Date;
  /** Where `log.witness` decisions go (the server's audit trail); the pull mode records its own. */
  readonly record?: Recorder;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export class CheckpointWitness {
  readonly #options: CheckpointWitnessOptions;
  readonly #logs: Map<string, NoteVerifier>;
  #state: WitnessState;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: CheckpointWitnessOptions) {
    this.#options = options;
    this.#logs = new Map(options.logs.map((v) => [v.name, v]));
    if (this.#logs.size !== options.logs.length)
      throw new AirlockError('E_USAGE', 'two log keys with one origin: a witness follows each log by one key');
    this.#state = options.state.logs;
  }

  /** What this witness last cosigned for `origin`, if anything. */
  latest(origin: string): WitnessedLog | undefined {
    return this.#state.get(origin);
  }

  /** Handles one add-checkpoint request; refusals are results, failures to sign or save are thrown. */
  addCheckpoint(request: AddCheckpointRequest): Promise<Cosigned | Refused> {
    const next = this.#queue.then(async () => {
      const outcome = await this.#add(request);
      // Protocol traffic (a log learning our size, a malformed request, a log we do not follow) decides nothing.
      if (!outcome.ok && outcome.status === 422) {
        await this.#options.record?.({
          action: 'log.witness',
          result: 'refused',
          reason: `${outcome.code}: ${outcome.message}`,
          ...(outcome.details ? { details: outcome.details } : {}),
        });
      }
      return outcome;
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #add(request: AddCheckpointRequest): Promise<Cosigned | Refused> {
    const refuse = (
      status: Refused['status'],
      code: ErrorCode,
      message: string,
      extra: Partial<Refused> = {},
    ): Refused => ({ ok: false, status, code, message, ...extra });
    let text: string;
    let origin: string;
    try {
      text = parseNote(request.note).text;
      origin = parseCheckpoint(text).origin;
    } catch (err) {
      return refuse(400, 'E_INPUT_MALFORMED', `not a checkpoint note: ${(err as Error).message}`);
    }
    const log = this.#logs.get(origin);
    if (!log) return refuse(404, 'E_TLOG_CHECKPOINT', `this witness does not follow the log ${origin}`);
    let opened;
    try {
      opened = openCheckpoint(request.note, log);
    } catch (err) {
      if (!isAirlockError(err)) throw err;
      return refuse(
        403,
        'E_TLOG_CHECKPOINT',
        `the checkpoint is not signed by the key this witness trusts for ${origin}: ${err.message}`,
      );
    }
    const { size, rootHash } = opened.checkpoint;
    if (request.oldSize > size)
      return refuse(400, 'E_INPUT_MALFORMED', `old size ${request.oldSize} is beyond the checkpoint's size ${size}`);
    const previous = this.#state.get(origin);
    const latestSize = previous?.size ?? 0;
    if (request.oldSize !== latestSize) {
      return refuse(
        409,
        'E_LOG_INCONSISTENT',
        `this witness last cosigned ${origin} at size ${latestSize}, not ${request.oldSize}`,
        { latestSize },
      );
    }
    const oldRoot = previous ? (Buffer.from(previous.root, 'base64') as Uint8Array) : EMPTY_ROOT;
    if (!verifyConsistency(request.oldSize, size, oldRoot, rootHash, request.proof)) {
      return refuse(
        422,
        'E_LOG_INCONSISTENT',
        `${origin}: the checkpoint at size ${size} is not proven to extend the one cosigned at size ${latestSize}`,
        {
          details: {
            origin,
            older: { size: latestSize, root: b64(oldRoot) },
            newer: { size, root: b64(rootHash) },
            checkpoint: request.note,
          },
        },
      );
    }
    const { name, signer } = this.#options;
    const now = this.#options.now();
    const cosignature = await cosignCheckpoint(text, name, signer, now);
    // What it keeps and serves to monitors: the log's verified signature and its own, nothing it did not
    // check (another line claiming a key monitors trust would make them refuse the whole note).
    const note = serializeNote(text, [...opened.note.verified, parseSignatureLine(cosignature.slice(0, -1))]);
    const logs = new Map(this.#state);
    logs.set(origin, { size, root: b64(rootHash), time: now.toISOString(), checkpoint: note });
    // tlog-witness: the new state is durable before the cosignature leaves the witness.
    await this.#options.state.save(logs);
    this.#state = logs;
    await this.#options.record?.({
      action: 'log.witness',
      result: 'ok',
      subjects: [{ name: origin }],
      details: { size, root: b64(rootHash), previousSize: previous?.size ?? null },
    });
    return { ok: true, cosignature, note, origin, size, previous };
  }
}
