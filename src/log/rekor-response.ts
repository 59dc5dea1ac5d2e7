// What a Rekor v2 log answers for an entry it logged (shared/design/notes/tlog-anchors.md §2.1
// Response, §6.4): the TransparencyLogEntry, in the protojson spelling of @sigstore/protobuf-specs with
// the zero values Rekor v2's gateway writes out.
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { AirlockError } from '../errors.ts';
import { ENTRY_API_VERSION, ENTRY_KIND } from './rekor-entry.ts';

/** What the log tells a client about one entry (§2.1 Response, §6.4). */
export interface TransparencyLogEntryJSON {
  readonly logIndex: string;
  readonly logId: { readonly keyId: string };
  readonly kindVersion: { readonly kind: string; readonly version: string };
  readonly integratedTime: string;
  readonly inclusionProof: {
    readonly logIndex: string;
    readonly rootHash: string;
    readonly treeSize: string;
    readonly hashes: readonly string[];
    readonly checkpoint: { readonly envelope: string };
  };
  readonly canonicalizedBody: string;
}

export interface LoggedEntry {
  readonly logIndex: number;
  /** The full 32-byte checkpoint key ID (§2.2), as in the trusted root's `logId.keyId`. */
  readonly logId: Uint8Array;
  readonly body: Uint8Array;
  /** The inclusion proof, leaf to root, at `treeSize`. */
  readonly inclusionHashes: readonly Uint8Array[];
  /** The signed note (checkpoint) of size `treeSize`, with any cosignatures. */
  readonly checkpoint: string;
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
}

function checkLoggedEntry(e: LoggedEntry): void {
  const problems = [
    !(Number.isSafeInteger(e.logIndex) && e.logIndex >= 0 && e.logIndex < e.treeSize) &&
      `logIndex ${e.logIndex} is not inside tree size ${e.treeSize}`,
    !Number.isSafeInteger(e.treeSize) && `treeSize ${e.treeSize} is not a safe integer`,
    e.logId.length !== 32 && `logId is ${e.logId.length} bytes, not 32`,
    e.rootHash.length !== 32 && `rootHash is ${e.rootHash.length} bytes, not 32`,
    e.inclusionHashes.some((h) => h.length !== 32) && 'an inclusion hash is not 32 bytes',
    e.checkpoint === '' && 'the checkpoint is empty',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new AirlockError('E_INTERNAL', `cannot describe log entry: ${problems.join('; ')}`);
}

/**
 * The TransparencyLogEntry for a logged entry, as protojson (§2.1 Response): int64 as strings,
 * `inclusionProof.logIndex` equal to `logIndex` (sigstore-js proves with it, sigstore-go with the
 * top-level one), integratedTime "0" and no inclusionPromise, since Rekor v2 signs no entry time.
 */
export function toTransparencyLogEntry(entry: LoggedEntry): TransparencyLogEntryJSON {
  checkLoggedEntry(entry);
  const logIndex = String(entry.logIndex);
  const json = TransparencyLogEntry.toJSON({
    logIndex,
    logId: { keyId: Buffer.from(entry.logId) },
    kindVersion: { kind: ENTRY_KIND, version: ENTRY_API_VERSION },
    integratedTime: '0',
    inclusionPromise: undefined,
    inclusionProof: {
      logIndex,
      rootHash: Buffer.from(entry.rootHash),
      treeSize: String(entry.treeSize),
      hashes: entry.inclusionHashes.map((h) => Buffer.from(h)),
      checkpoint: { envelope: entry.checkpoint },
    },
    canonicalizedBody: Buffer.from(entry.body),
  }) as TransparencyLogEntryJSON;
  // ts-proto leaves out zero values ("0", []); Rekor v2's gateway writes them (EmitUnpopulated), so do we.
  const proof = json.inclusionProof;
  return { ...json, logIndex, integratedTime: '0', inclusionProof: { ...proof, logIndex, hashes: proof.hashes ?? [] } };
}
