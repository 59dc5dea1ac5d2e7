// The log's side of witnessing: before a checkpoint is published, ask every witness of the policy to
// cosign it (C2SP tlog-witness add-checkpoint) and append the cosignatures that verify. The flow is
// Tessera's (design/notes/tlog-anchors.md §4.1):
//
// - remember, per witness, the size it last cosigned (0 at start) and send the consistency proof from
//   there, computed from the log's own tiles;
// - on 409, take the size the witness states and ask again; a witness that has cosigned a larger tree
//   than this log holds is a permanent error (a log restored from an old backup);
// - up to three tries per witness, backing off 10 → 250 ms after a network failure, a 429 or a 503;
//   a timeout is not retried, and 409s do not count as tries;
// - keep only cosignature lines by the policy's key for that witness that verify over this checkpoint;
// - stop waiting shortly after the quorum is met: a dead witness the quorum does not need must not
//   hold every batch for its timeout.
// Any failure of one witness (a garbled answer, a proof that cannot be computed) is reported, never
// thrown: the caller decides on the quorum alone.
//
// Whether the policy's quorum is met is the caller's decision to act on (publish or refuse).
import { AirlockError } from '../errors.ts';
import { exchange, failureReason } from '../net/http/exchange.ts';
import { HttpFailure } from '../net/http/failure.ts';
import type { HttpTransport } from '../net/http/transport.ts';
import { parseCheckpoint } from './checkpoint.ts';
import { type NoteSignature, parseNote, parseSignatureLine, serializeNote } from './note.ts';
import { type PolicyWitness, quorumSatisfied, type TlogPolicy } from './tlog-policy.ts';
import { ADD_CHECKPOINT_PATH, formatAddCheckpoint, parseCosignatureLines, parseTlogSize } from './witness-protocol.ts';

/** Tessera's default is 1 s; a witness on a busy air-gapped host gets more. */
export const WITNESS_TIMEOUT_MS = 5_000;
const TRIES = 3;
/** 409s answered with a new size, per checkpoint: discovery takes one; more means the witness keeps moving. */
const MAX_CONFLICTS = 3;
/** How long healthy witnesses get to add their cosignature once the quorum is met. */
const GRACE_MS = 250;
const MAX_ANSWER_BYTES = 64 * 1024;

export interface CosignatureGatheringOptions {
  readonly policy: TlogPolicy;
  /** A consistency proof between two sizes of this log, from its tiles. */
  readonly prove: (oldSize: number, newSize: number) => Promise<Uint8Array[]>;
  /** Defaults to the transport services share (net/http/exchange.ts). */
  readonly transport?: HttpTransport;
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Gathered {
  /** The checkpoint with every cosignature that verified appended. */
  readonly note: string;
  /** Policy names of the witnesses that cosigned, sorted. */
  readonly cosigned: readonly string[];
  readonly satisfied: boolean;
  /** Witnesses that did not cosign, and why. */
  readonly failures: ReadonlyArray<{ readonly witness: string; readonly reason: string }>;
}

class WitnessFailure extends Error {}

export class CosignatureGatherer {
  readonly #options: CosignatureGatheringOptions;
  readonly #witnesses: ReadonlyArray<PolicyWitness & { readonly url: string }>;
  /** Per witness URL: the size it last cosigned, as far as this log knows. */
  readonly #sizes = new Map<string, number>();
  /** Per witness URL: a request still out from an earlier gather (one that met its quorum without it). */
  readonly #inFlight = new Set<string>();
  /** The last checkpoint that met the quorum: a batch of duplicates only re-publishes it as it is. */
  #last: { readonly text: string; readonly gathered: Gathered } | undefined;
  /** Gathers run one at a time: two at once would race each other's sizes at every witness. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: CosignatureGatheringOptions) {
    const unreachable = options.policy.witnesses.filter((w) => w.url === undefined).map((w) => w.name);
    if (unreachable.length > 0) {
      throw new AirlockError(
        'E_USAGE',
        `the witness policy gives no URL for ${unreachable.join(', ')}: a log can only ask witnesses it can reach`,
        {
          hint: 'write each witness line as: witness <name> <vkey> <url>',
        },
      );
    }
    this.#options = options;
    this.#witnesses = options.policy.witnesses as ReadonlyArray<PolicyWitness & { url: string }>;
  }

  /**
   * Asks every witness to cosign `note` (signed by the log). Never rejects for a witness's failure:
   * each is reported in `failures`. Returns once every witness answered, or GRACE_MS after the quorum
   * was met: a witness that is down costs one timeout only when the quorum needs it.
   */
  gather(note: string): Promise<Gathered> {
    const run = this.#queue.then(() => this.#gather(note));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #gather(note: string): Promise<Gathered> {
    const parsed = parseNote(note);
    if (this.#last?.text === parsed.text) return this.#last.gathered;
    const { size } = parseCheckpoint(parsed.text);
    const answers = new Map<string, NoteSignature[] | string>();
    await new Promise<void>((done) => {
      let pending = 0;
      let grace: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(grace);
        done();
      };
      const check = () => {
        if (pending === 0) return settle();
        const cosigned = new Set([...answers].filter(([, a]) => typeof a !== 'string').map(([name]) => name));
        if (grace === undefined && quorumSatisfied(this.#options.policy, cosigned))
          grace = setTimeout(settle, GRACE_MS);
      };
      for (const w of this.#witnesses) {
        if (this.#inFlight.has(w.url)) {
          answers.set(w.name, 'still answering an earlier checkpoint');
          continue;
        }
        pending++;
        this.#inFlight.add(w.url);
        this.#ask(w, note, parsed.text, size)
          .then(
            (signatures) => answers.set(w.name, signatures),
            (err: unknown) => answers.set(w.name, err instanceof Error ? err.message : String(err)),
          )
          .finally(() => {
            this.#inFlight.delete(w.url);
            pending--;
            check();
          });
      }
      check();
    });
    // What came in by now; a later answer still moves that witness's size on, for the next checkpoint.
    const cosigned: string[] = [];
    const lines: NoteSignature[] = [];
    const failures: Array<{ witness: string; reason: string }> = [];
    for (const w of this.#witnesses) {
      const answer = answers.get(w.name) ?? 'no answer yet (the quorum was met without it)';
      if (typeof answer === 'string') failures.push({ witness: w.name, reason: answer });
      else {
        cosigned.push(w.name);
        lines.push(...answer);
      }
    }
    const theirs = new Set(this.#witnesses.map((w) => `${w.verifier.name}+${w.verifier.keyId}`));
    const kept = parsed.signatures.filter((s) => !theirs.has(`${s.name}+${s.keyId}`));
    const gathered: Gathered = {
      note: serializeNote(parsed.text, [...kept, ...lines]),
      cosigned: cosigned.sort(),
      satisfied: quorumSatisfied(this.#options.policy, new Set(cosigned)),
      failures: failures.sort((a, b) => a.witness.localeCompare(b.witness)),
    };
    if (gathered.satisfied) this.#last = { text: parsed.text, gathered };
    return gathered;
  }

  /** One witness's cosignature lines for `note`; any failure is thrown as an Error whose message says why. */
  async #ask(
    witness: PolicyWitness & { url: string },
    note: string,
    text: string,
    size: number,
  ): Promise<NoteSignature[]> {
    const url = `${witness.url.replace(/\/+$/, '')}/${ADD_CHECKPOINT_PATH}`;
    const timeoutMs = this.#options.timeoutMs ?? WITNESS_TIMEOUT_MS;
    const sleep = this.#options.sleep ?? ((ms: number) => new Promise((ok) => setTimeout(ok, ms)));
    let tries = 0;
    let conflicts = 0;
    let backoff = 10;
    const again = async (reason: string) => {
      if (++tries >= TRIES) throw new WitnessFailure(`no cosignature after ${TRIES} tries: ${reason}`);
      await sleep(backoff);
      backoff = Math.min(backoff * 5, 250);
    };
    for (;;) {
      const old = this.#sizes.get(witness.url) ?? 0;
      if (old > size) {
        throw new WitnessFailure(
          `it has cosigned this log at size ${old}, beyond the checkpoint's size ${size}: was ` +
            `the log restored from an older backup?`,
        );
      }
      const proof = old === 0 || old === size ? [] : await this.#options.prove(old, size);
      let response: { status: number };
      let body: string;
      try {
        const request = {
          method: 'POST' as const,
          url: new URL(url),
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: Buffer.from(formatAddCheckpoint({ oldSize: old, proof, note })),
          redirects: 'none' as const,
        };
        const answer = await exchange(
          request,
          { maxBytes: MAX_ANSWER_BYTES, deadlineMs: timeoutMs },
          this.#options.transport,
        );
        response = answer;
        body = answer.body.toString('utf8');
      } catch (err) {
        const reason = failureReason(err);
        // A witness that did not answer in time is not asked again for this checkpoint: one timeout per batch at most.
        if (err instanceof HttpFailure && err.code === 'ETIMEDOUT') throw new WitnessFailure(reason);
        await again(reason);
        continue;
      }
      if (response.status === 409) {
        // Discovery, not failure (a restarted log always starts here): bounded on its own.
        const latest = parseTlogSize(body);
        if (latest === undefined)
          throw new WitnessFailure(
            `answered 409 without the size it last cosigned (${body.trim().slice(0, 200) || 'empty body'})`,
          );
        if (latest === old || ++conflicts > MAX_CONFLICTS)
          throw new WitnessFailure(`answered 409 for size ${old}, saying it last cosigned size ${latest}`);
        this.#sizes.set(witness.url, latest);
        continue;
      }
      if (response.status === 429 || response.status === 503) {
        await again(`answered ${response.status}: ${body.trim().slice(0, 200) || '(no message)'}`);
        continue;
      }
      if (response.status !== 200)
        throw new WitnessFailure(`answered ${response.status}: ${body.trim().slice(0, 300) || '(no message)'}`);
      const mine = this.#cosignaturesOf(witness, text, body);
      // Never backwards: an answer to an older checkpoint may arrive after a newer one's.
      this.#sizes.set(witness.url, Math.max(this.#sizes.get(witness.url) ?? 0, size));
      return mine;
    }
  }

  /**
   * The lines of a 200 answer made with the policy's key for this witness; one that fails to verify refuses the answer.
   */
  #cosignaturesOf(witness: PolicyWitness, text: string, body: string): NoteSignature[] {
    const { name, keyId } = witness.verifier;
    const mine: NoteSignature[] = [];
    for (const [i, line] of parseCosignatureLines(body).entries()) {
      const s = parseSignatureLine(line.slice(0, -1));
      if (s.name !== name || s.keyId !== keyId) continue;
      try {
        witness.verifier.verifyLine(text, line);
      } catch (err) {
        throw new WitnessFailure(`cosignature ${i + 1} of its answer: ${(err as Error).message}`);
      }
      mine.push(s);
    }
    if (mine.length === 0)
      throw new WitnessFailure(
        `its answer holds no cosignature by ${witness.vkey.split('+').slice(0, 2).join('+')}, the key the policy names`,
      );
    return mine.slice(0, 1);
  }
}
