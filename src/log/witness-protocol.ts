// C2SP tlog-witness v1.0.0 (https://c2sp.org/tlog-witness@v1.0.0), the wire format both sides speak:
// a log POSTs <prefix>/add-checkpoint with
//
//   old <decimal size>\n
//   <base64 hash>\n          (0 to 63 consistency-proof lines, old size → checkpoint size)
//   \n
//   <checkpoint note, signed by the log>
//
// and gets back the witness's cosignature line(s). A 409 carries the size the witness last cosigned
// as `<size>\n` (text/x.tlog.size), which is how a log learns where a witness stands.
// Monitors read a witness's latest cosigned checkpoint at <prefix>/<hex(SHA-256(origin))>/checkpoint.
// design/notes/tlog-anchors.md §1.6, §4.1.
import { createHash } from 'node:crypto';
import { AirlockError } from '../errors.ts';
import { decodeBase64, MAX_SIGNATURES } from './note.ts';

export const ADD_CHECKPOINT_PATH = 'add-checkpoint';
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';
/** What omniwitness reads at most: a checkpoint, its signatures and 63 proof lines fit several times over. */
export const MAX_ADD_CHECKPOINT_BYTES = 16 * 1024;
/** A consistency proof in a tree of at most 2^63 leaves. */
const MAX_PROOF_HASHES = 63;

export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  readonly note: string;
}

export function formatAddCheckpoint(request: AddCheckpointRequest): string {
  const proof = request.proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join('');
  return `old ${request.oldSize}\n${proof}\n${request.note}`;
}

/** Parses an add-checkpoint body; anything off the grammar is E_INPUT_MALFORMED (the witness's 400). */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const bad = (why: string) =>
    new AirlockError('E_INPUT_MALFORMED', `not a tlog-witness add-checkpoint request: ${why}`);
  const lines = body.split('\n');
  const old = /^old (0|[1-9][0-9]{0,15})$/.exec(lines[0] ?? '');
  const oldSize = Number(old?.[1]);
  if (!old || !Number.isSafeInteger(oldSize)) throw bad("the first line must be 'old <size>'");
  const proof: Uint8Array[] = [];
  let i = 1;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const hash = decodeBase64(lines[i] as string);
    if (hash?.length !== 32) throw bad(`line ${i + 1} is not a base64 SHA-256 hash`);
    if (proof.push(hash) > MAX_PROOF_HASHES) throw bad(`more than ${MAX_PROOF_HASHES} consistency-proof hashes`);
  }
  if (i >= lines.length) throw bad('no empty line before the checkpoint');
  const note = lines.slice(i + 1).join('\n');
  if (note === '') throw bad('no checkpoint after the empty line');
  return { oldSize, proof, note };
}

/** The body of a 409: the size the witness last cosigned for the origin. */
export const formatTlogSize = (size: number): string => `${size}\n`;

export function parseTlogSize(body: string): number | undefined {
  const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(body);
  const size = Number(m?.[1]);
  return m && Number.isSafeInteger(size) ? size : undefined;
}

/** A witness's 200 answer: one or more signature lines, each ended by a newline. */
export function parseCosignatureLines(body: string): string[] {
  if (!body.endsWith('\n'))
    throw new AirlockError('E_INPUT_MALFORMED', 'the witness answer does not end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES || lines.some((l) => !l.startsWith('\u2014 '))) {
    throw new AirlockError('E_INPUT_MALFORMED', 'the witness answer is not a list of signature lines');
  }
  return lines.map((l) => `${l}\n`);
}

/** Where monitors read a witness's latest cosigned checkpoint of `origin` (relative to its prefix). */
export const witnessCheckpointPath = (origin: string): string =>
  `${createHash('sha256').update(origin, 'utf8').digest('hex')}/checkpoint`;
