// C2SP tlog-policy (https://c2sp.org/tlog-policy): which witnesses must cosign a checkpoint before it
// counts. The same text Tessera and rekor-tiles take with --witness-policy-path, parsed rule for rule
// as transparency-dev/formats/policy does:
//
//   log <vkey> [<url>]
//   witness <name> <vkey> [<url>]
//   group <name> <k|any|all> <member>...
//   quorum <name|none>
//
// Comments are whole lines whose first item starts with '#'. Items are separated by spaces and tabs;
// the only control characters allowed are tab and newline. Names (witnesses and groups share one
// namespace) are defined before use, `none` is reserved, each name is a group member at most once,
// k is within [1, members], a public key is on one log or witness line at most, and there is exactly
// one quorum.
// Witness keys are cosignature/v1 Ed25519 (type 0x04; 0x01 as omniwitness publishes them is read the
// way cosignature.ts reads it). ML-DSA-44 (0x06) is not supported yet. design/notes/tlog-anchors.md §1.8.
import { AirlockError, isAirlockError } from '../errors.ts';
import { parseCheckpoint } from './checkpoint.ts';
import { type CosignatureVerifier, cosignatureTime, parseCosignerKey, type WitnessQuorum } from './cosignature.ts';
import { type Note, type NoteVerifier, parseNote, verifyNoteSignatures } from './note.ts';
import { parseVerifierKey, splitVerifierKey } from './note-keys.ts';

const QUORUM_NONE = 'none';

export interface PolicyLog {
  readonly vkey: string;
  readonly verifier: NoteVerifier;
  readonly url?: string;
}

export interface PolicyWitness {
  readonly name: string;
  readonly vkey: string;
  readonly verifier: CosignatureVerifier;
  readonly url?: string;
}

export interface PolicyGroup {
  readonly name: string;
  /** `any` and `all` resolved: 1 ≤ threshold ≤ members.length. */
  readonly threshold: number;
  readonly members: readonly string[];
}

export interface TlogPolicy {
  readonly logs: readonly PolicyLog[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: readonly PolicyGroup[];
  /** A witness or group name, or `none`. */
  readonly quorum: string;
}

function checkCharset(text: string, source: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || (c >= 0x20 && c !== 0x7f)) continue;
    const line = text.slice(0, i).split('\n').length;
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${source}, line ${line}: control character 0x${c.toString(16).padStart(2, '0')} (only tab ` +
        `and newline are allowed)`,
    );
  }
}

/** The public key a vkey wraps: two vkeys of one key may differ in name, ID and (0x01/0x04) type. */
const publicKeyOf = (vkey: string): string => splitVerifierKey(vkey).key.toString('base64');

/** One line's error, located. */
type LineError = (why: string) => AirlockError;

/** The policy as read so far: each keyword's line adds to it, checked against the lines before. */
class PolicyReader {
  readonly logs: PolicyLog[] = [];
  readonly witnesses: PolicyWitness[] = [];
  readonly groups: PolicyGroup[] = [];
  quorum: string | undefined;
  readonly #defined = new Set<string>();
  readonly #members = new Set<string>();
  // One key, one role: a public key appears on at most one log or witness line.
  readonly #keys = new Set<string>();

  log(args: readonly string[], bad: LineError): void {
    if (args.length < 1 || args.length > 2) throw bad('expected: log <vkey> [<url>]');
    const vkey = args[0] as string;
    const { verifier } = keyed(bad, 'the log key', () => parseVerifierKey(vkey));
    this.#claimKey(vkey, bad, 'the same public key as an earlier log or witness line');
    this.logs.push({ vkey, verifier, ...(args[1] === undefined ? {} : { url: args[1] }) });
  }

  witness(args: readonly string[], bad: LineError): void {
    if (args.length < 2 || args.length > 3) throw bad('expected: witness <name> <vkey> [<url>]');
    const [name, vkey, url] = args as [string, string, string | undefined];
    this.#checkNewName(name, bad);
    const { verifier } = keyed(bad, `witness ${name}`, () => parseCosignerKey(vkey));
    this.#claimKey(vkey, bad, `witness ${name} has the same public key as an earlier log or witness line`);
    this.#defined.add(name);
    this.witnesses.push({ name, vkey, verifier, ...(url === undefined ? {} : { url }) });
  }

  group(args: readonly string[], bad: LineError): void {
    if (args.length < 3) throw bad('expected: group <name> <k|any|all> <member>...');
    const [name, k, ...of] = args as [string, string, ...string[]];
    this.#checkNewName(name, bad);
    const threshold = k === 'any' ? 1 : k === 'all' ? of.length : /^[0-9]{1,9}$/.test(k) ? Number(k) : Number.NaN;
    if (Number.isNaN(threshold)) throw bad(`group ${name}: the threshold '${k}' is not a number, 'any' or 'all'`);
    if (threshold < 1 || threshold > of.length) {
      throw bad(`group ${name}: threshold ${threshold} is outside [1, ${of.length}]`);
    }
    for (const m of of) {
      if (!this.#defined.has(m)) throw bad(`group ${name}: member '${m}' is not defined on an earlier line`);
      if (this.#members.has(m)) {
        throw bad(`group ${name}: '${m}' is already a member of a group (each name may be a member once)`);
      }
      this.#members.add(m);
    }
    this.#defined.add(name);
    this.groups.push({ name, threshold, members: of });
  }

  setQuorum(args: readonly string[], bad: LineError): void {
    if (args.length !== 1) throw bad('expected: quorum <name|none>');
    if (this.quorum !== undefined) throw bad('a second quorum line (exactly one is allowed)');
    const name = args[0] as string;
    if (name !== QUORUM_NONE && !this.#defined.has(name)) {
      throw bad(`quorum '${name}' is not defined on an earlier line`);
    }
    this.quorum = name;
  }

  #checkNewName(name: string, bad: LineError): void {
    if (name === QUORUM_NONE) throw bad(`the name '${QUORUM_NONE}' is reserved`);
    if (this.#defined.has(name)) throw bad(`'${name}' is already defined`);
  }

  #claimKey(vkey: string, bad: LineError, duplicate: string): void {
    const bytes = publicKeyOf(vkey);
    if (this.#keys.has(bytes)) throw bad(duplicate);
    this.#keys.add(bytes);
  }
}

/** A key parsed for a line: its own coded error, located on that line. */
function keyed<T>(bad: LineError, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw isAirlockError(err) ? bad(`${what}: ${err.message}`) : err;
  }
}

export function parseTlogPolicy(text: string, source = 'the witness policy'): TlogPolicy {
  checkCharset(text, source);
  const policy = new PolicyReader();
  for (const [i, line] of text.split('\n').entries()) {
    const items = line.split(/[ \t]+/).filter((s) => s !== '');
    if (items.length === 0 || items[0]?.startsWith('#')) continue;
    const bad: LineError = (why) =>
      new AirlockError('E_INPUT_MALFORMED', `${source}, line ${i + 1}: ${why}`, { details: { line: i + 1 } });
    const [keyword, ...args] = items as [string, ...string[]];
    if (keyword === 'log') policy.log(args, bad);
    else if (keyword === 'witness') policy.witness(args, bad);
    else if (keyword === 'group') policy.group(args, bad);
    else if (keyword === 'quorum') policy.setQuorum(args, bad);
    else throw bad(`unknown keyword '${keyword}' (expected log, witness, group or quorum)`);
  }
  const { logs, witnesses, groups, quorum } = policy;
  if (quorum === undefined) {
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${source}: no quorum line (exactly one is required, e.g. 'quorum none')`,
    );
  }
  return { logs, witnesses, groups, quorum };
}

/** Whether the witnesses named in `cosigned` (policy names) satisfy the policy's quorum. */
export function quorumSatisfied(policy: TlogPolicy, cosigned: ReadonlySet<string>): boolean {
  if (policy.quorum === QUORUM_NONE) return true;
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  // Groups only name earlier definitions, so the recursion always ends.
  const satisfied = (name: string): boolean => {
    const group = groups.get(name);
    if (!group) return cosigned.has(name);
    let count = 0;
    for (const m of group.members) if (satisfied(m) && ++count >= group.threshold) return true;
    return false;
  };
  return satisfied(policy.quorum);
}

/**
 * The cosignatures on `note` by policy witnesses that verify, each under its policy name. A
 * cosignature naming a policy witness's key that does not verify refuses the note (signed-note
 * §Signatures), as everywhere else.
 */
function policyCosignatures(policy: TlogPolicy, note: Note): WitnessQuorum['cosignatures'] {
  const byVerifier = new Map<NoteVerifier, string>(policy.witnesses.map((w) => [w.verifier, w.name]));
  const { verified } = verifyNoteSignatures(
    note,
    policy.witnesses.map((w) => w.verifier),
  );
  return verified.map((s) => ({
    name: byVerifier.get(s.verifier) as string,
    keyId: s.keyId,
    time: cosignatureTime(s.signature),
  }));
}

/** The policy witnesses whose cosignature on `note` verifies (see policyCosignatures). */
export function cosignersIn(policy: TlogPolicy, note: Note): Set<string> {
  return new Set(policyCosignatures(policy, note).map((c) => c.name));
}

/**
 * Whether a checkpoint note meets the policy, for a verifier: signed by one of the policy's logs (when
 * it names any: a policy is about the logs it names), and cosigned by witnesses that satisfy its
 * quorum. A malformed note, or a cosignature naming a policy witness's key that does not verify,
 * throws E_TLOG_CHECKPOINT. The log signature itself is the trusted root's to check, not this.
 */
export function checkpointMeetsPolicy(policy: TlogPolicy, envelope: string): Omit<WitnessQuorum, 'required'> {
  const note = parseNote(envelope);
  const { origin } = parseCheckpoint(note.text);
  if (
    policy.logs.length > 0 &&
    verifyNoteSignatures(
      note,
      policy.logs.map((l) => l.verifier),
    ).verified.length === 0
  ) {
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `its checkpoint (log ${origin}) is not signed by a log the witness policy names`,
      {
        hint: "add the log's key to the policy as 'log <vkey>', or use the policy written for that log",
      },
    );
  }
  const cosignatures = policyCosignatures(policy, note);
  const cosigned = [...new Set(cosignatures.map((c) => c.name))].sort();
  return { ok: quorumSatisfied(policy, new Set(cosigned)), cosigned, cosignatures };
}
