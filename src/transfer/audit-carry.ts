// The connected side's audit checkpoint, carried across the gap in every package (covered by the
// signed manifest) with a consistency proof from the checkpoint in the previous package on the
// channel. The air-gapped side keeps the last one it accepted per channel, so it can prove the
// connected side's audit history only ever grew: a rewritten or truncated trail cannot produce a
// proof from the checkpoint already held inside the gap.
//   audit/checkpoint         the signed checkpoint note (C2SP signed-note, Ed25519 or ECDSA)
//   audit/audit.pub          the key it is signed with (PEM)
//   audit/consistency.json   {"from": {"size", "root"} | null, "proof": [base64 hashes],
//                             "earlier": [{"from", "proof"}, …]}  proofs from older packages' checkpoints,
//                             so a side that skipped packages (--allow-gap) can still chain
import { createPublicKey, type KeyObject } from 'node:crypto';
import { keyFingerprint, publicKeyPem } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';
import { type Checkpoint, parseCheckpoint } from '../log/checkpoint.ts';
import { checkpointOpener } from '../log/checkpoint-signer.ts';
import { checkExtends } from '../log/consistency.ts';
import { HASH_SIZE } from '../log/merkle.ts';
import { decodeBase64, parseNote } from '../log/note.ts';

export const AUDIT_DIR = 'audit';
export const AUDIT_CHECKPOINT_NAME = `${AUDIT_DIR}/checkpoint`;
export const AUDIT_KEY_NAME = `${AUDIT_DIR}/audit.pub`;
export const AUDIT_CONSISTENCY_NAME = `${AUDIT_DIR}/consistency.json`;

/** What the connected side's audit log offers pack. */
export interface AuditSource {
  readonly origin: string;
  readonly publicKey: KeyObject;
  readonly size: number;
  readonly checkpoint: string;
  consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]>;
}

/** The tree a channel's side remembers: where the last package left the connected side's audit log. */
export interface AuditMark {
  readonly origin: string;
  readonly keyFingerprint: string;
  readonly size: number;
  /** base64 */
  readonly root: string;
  /** The signed checkpoint itself, kept by the air-gapped side as evidence. */
  readonly checkpoint?: string;
  /** The mark this one replaced without a proof (an --allow-gap import), kept as evidence. */
  readonly unchainedFrom?: AuditMark;
}

/** How many earlier packages' checkpoints a package carries proofs from. */
export const AUDIT_PROOF_HISTORY = 16;

export interface CarriedAudit {
  readonly mark: AuditMark;
  readonly files: ReadonlyArray<{ readonly path: string; readonly data: Buffer }>;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * The files pack adds, proving consistency from `previous` (the marks of the last packages packed on
 * the channel, newest first): from the newest, and from each older one for a side that skipped some.
 */
export async function carryAudit(source: AuditSource, previous: readonly AuditMark[]): Promise<CarriedAudit> {
  const current = parseCheckpoint(parseNote(source.checkpoint).text);
  const mark: AuditMark = {
    origin: source.origin,
    keyFingerprint: keyFingerprint(source.publicKey),
    size: current.size,
    root: b64(current.rootHash),
  };
  // A different log or key than before (a new machine, a reset state) starts a new chain: no proof
  // can link them, and the air-gapped side decides what that means.
  const chained = previous
    .filter((m) => m.origin === mark.origin && m.keyFingerprint === mark.keyFingerprint && m.size <= mark.size)
    .slice(0, AUDIT_PROOF_HISTORY);
  const proofs = await Promise.all(
    chained.map(async (m) => ({
      from: { size: m.size, root: m.root },
      proof: (await source.consistencyProof(m.size, mark.size)).map(b64),
    })),
  );
  const [newest, ...earlier] = proofs;
  const consistency = {
    from: newest?.from ?? null,
    proof: newest?.proof ?? [],
    ...(earlier.length ? { earlier } : {}),
  };
  return {
    mark,
    files: [
      { path: AUDIT_CHECKPOINT_NAME, data: Buffer.from(source.checkpoint, 'utf8') },
      { path: AUDIT_KEY_NAME, data: Buffer.from(publicKeyPem(source.publicKey)) },
      { path: AUDIT_CONSISTENCY_NAME, data: Buffer.from(`${JSON.stringify(consistency, null, 2)}\n`) },
    ],
  };
}

export type AuditCarryVerdict =
  | { readonly kind: 'first'; readonly detail: string }
  | { readonly kind: 'extends'; readonly detail: string }
  | { readonly kind: 'unchained'; readonly detail: string };

export interface AuditCarryCheck {
  readonly mark: AuditMark;
  readonly checkpoint: string;
  readonly verdict: AuditCarryVerdict;
}

function decodeHash(text: unknown, what: string): Buffer {
  // Canonical base64 only: one hash, one spelling.
  const bytes = typeof text === 'string' ? decodeBase64(text) : undefined;
  if (!bytes || bytes.length !== HASH_SIZE)
    throw new AirlockError('E_INPUT_MALFORMED', `${AUDIT_CONSISTENCY_NAME}: ${what} is not a base64 SHA-256 hash`);
  return bytes;
}

interface CarriedProof {
  readonly from: { readonly size: number; readonly root: Buffer } | null;
  readonly proof: Buffer[];
}

function parseConsistency(bytes: Uint8Array): CarriedProof[] {
  let doc: { from?: unknown; proof?: unknown; earlier?: unknown };
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof doc;
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${AUDIT_CONSISTENCY_NAME} is not JSON`, { cause: err });
  }
  const earlier = doc?.earlier ?? [];
  if (!Array.isArray(earlier) || earlier.length > AUDIT_PROOF_HISTORY)
    throw new AirlockError(
      'E_INPUT_MALFORMED',
      `${AUDIT_CONSISTENCY_NAME}: earlier must be a list of at most ${AUDIT_PROOF_HISTORY} proofs`,
    );
  return [parseProof(doc), ...earlier.map((e: unknown) => parseProof(e as typeof doc))];
}

function parseProof(doc: { from?: unknown; proof?: unknown }): CarriedProof {
  if (!Array.isArray(doc?.proof) || doc.proof.length > 64)
    throw new AirlockError('E_INPUT_MALFORMED', `${AUDIT_CONSISTENCY_NAME}: proof must be a list of at most 64 hashes`);
  const proof = doc.proof.map((h, i) => decodeHash(h, `proof[${i}]`));
  if (doc.from === null) return { from: null, proof };
  const from = doc.from as { size?: unknown; root?: unknown } | undefined;
  if (!Number.isSafeInteger(from?.size) || (from?.size as number) < 0)
    throw new AirlockError('E_INPUT_MALFORMED', `${AUDIT_CONSISTENCY_NAME}: from must be null or {"size", "root"}`);
  return { from: { size: from?.size as number, root: decodeHash(from?.root, 'from.root') }, proof };
}

interface CarriedCheckpoint {
  readonly mark: AuditMark;
  readonly text: string;
  readonly newer: Checkpoint;
}

/** The carried checkpoint, opened with the carried key: what the connected side's log said when packing. */
function openCarriedCheckpoint(note: Buffer, pem: Buffer): CarriedCheckpoint {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new AirlockError('E_INPUT_MALFORMED', `${AUDIT_KEY_NAME} is not a public key`, { cause: err });
  }
  const text = note.toString('utf8');
  const origin = parseCheckpoint(parseNote(text).text).origin;
  let opened: { size: number; root: Uint8Array };
  try {
    opened = checkpointOpener(origin, key)(text);
  } catch (err) {
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `${AUDIT_CHECKPOINT_NAME} is not signed by ${AUDIT_KEY_NAME}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const mark: AuditMark = { origin, keyFingerprint: keyFingerprint(key), size: opened.size, root: b64(opened.root) };
  const newer: Checkpoint = { origin, size: opened.size, rootHash: Buffer.from(opened.root), extensions: [] };
  return { mark, text, newer };
}

/** The same log, signed with the same key, as the channel last carried: anything else is a new log. */
function checkSameLog(kept: AuditMark, mark: AuditMark): void {
  if (kept.origin === mark.origin && kept.keyFingerprint === mark.keyFingerprint) return;
  throw new AirlockError(
    'E_KEY_MISMATCH',
    `the connected side's audit log changed: this channel last carried ${kept.origin} (key ` +
      `${kept.keyFingerprint}), this package ${mark.origin} (key ${mark.keyFingerprint})`,
    {
      hint:
        'a new connected machine or a reset audit log: confirm it out of band, then start a new ' +
        'channel (--channel)',
    },
  );
}

/** How the carried checkpoint relates to the one kept: the same, proven to extend it, or (on a gap) unchained. */
function relateToKept(
  carried: CarriedCheckpoint,
  kept: AuditMark,
  proofs: readonly CarriedProof[],
  gapAllowed: boolean,
): AuditCarryVerdict {
  const { mark, newer } = carried;
  if (kept.size === mark.size && kept.root === mark.root) {
    return { kind: 'extends', detail: `the same audit checkpoint as the last package (size ${mark.size})` };
  }
  const older: Checkpoint = {
    origin: mark.origin,
    size: kept.size,
    rootHash: Buffer.from(kept.root, 'base64'),
    extensions: [],
  };
  const match = proofs.find((p) => p.from && p.from.size === kept.size && p.from.root.equals(older.rootHash));
  if (match) {
    checkExtends(older, newer, match.proof);
    return {
      kind: 'extends',
      detail:
        `extends the audit checkpoint kept from the last package imported (size ${kept.size} → ` +
        `${mark.size}, proof of ${match.proof.length} hashes)`,
    };
  }
  // Smaller than what was kept can never extend it, skipped packages or not.
  if (mark.size < kept.size) checkExtends(older, newer, []);
  if (gapAllowed) {
    const from = proofs.map((p) => p.from?.size).filter((n) => n !== undefined);
    return {
      kind: 'unchained',
      detail:
        `not provably extending the kept checkpoint (size ${kept.size}): the package proves ` +
        `consistency only from ${from.length ? `size ${from.join(', ')}` : 'nothing'}`,
    };
  }
  throw new AirlockError(
    'E_LOG_INCONSISTENT',
    `the package's audit checkpoint (size ${mark.size}) carries no proof from the one kept from ` +
      `the last package (size ${kept.size})`,
    {
      hint:
        'the connected side packed from another state, or its audit history was rewritten: keep ' +
        'both packages as evidence',
    },
  );
}

/**
 * Checks the carried checkpoint against the key and origin the package names, and — when this side
 * kept a mark for the channel — that it extends that mark. `gapAllowed`: packages were skipped on
 * purpose, so the proof may start from a checkpoint this side never saw; that is reported, not hidden.
 */
export function verifyCarriedAudit(
  files: ReadonlyMap<string, Buffer>,
  kept: AuditMark | undefined,
  gapAllowed: boolean,
): AuditCarryCheck {
  const note = files.get(AUDIT_CHECKPOINT_NAME);
  const pem = files.get(AUDIT_KEY_NAME);
  const proofFile = files.get(AUDIT_CONSISTENCY_NAME);
  if (!note || !pem || !proofFile)
    throw new AirlockError(
      'E_PACKAGE_TAMPERED',
      `the package carries only part of the connected side's audit checkpoint (${AUDIT_DIR}/)`,
    );
  const carried = openCarriedCheckpoint(note, pem);
  const { mark, text } = carried;
  const proofs = parseConsistency(proofFile);
  if (!kept) {
    const detail = `the first audit checkpoint of ${mark.origin} on this channel (size ${mark.size})`;
    return { mark, checkpoint: text, verdict: { kind: 'first', detail } };
  }
  checkSameLog(kept, mark);
  return { mark, checkpoint: text, verdict: relateToKept(carried, kept, proofs, gapAllowed) };
}
