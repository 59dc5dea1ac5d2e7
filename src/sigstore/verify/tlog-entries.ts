// A bundle's transparency-log entries, checked where @sigstore/verify leaves gaps: an entry missing
// where one is required (said with why and what to do), an outer log index no signature covers, and a
// log key used outside its validity window. What time an entry vouches for is decided here too.
import type { Bundle } from '@sigstore/bundle';
import type { SignedEntity, TrustMaterial } from '@sigstore/verify';
import { AirlockError } from '../../errors.ts';
import { bounded } from '../../text.ts';
import type { TrustPolicy } from './identity.ts';
import type { Checks } from './report.ts';

/**
 * A bundle with no log entry where one is required: the Verifier would say "expected 1 tlog entries,
 * got 0". Said here with why it happens (signed offline) and what can be done, which differs for a
 * key (check it against the key alone) and a certificate (nothing: its log entry is its proof).
 */
export function checkTlogEntryPresent(bundle: Bundle, trust: TrustPolicy, required: number): void {
  if (required === 0 || bundle.verificationMaterial.tlogEntries.length > 0) return;
  const why = `the bundle has no transparency-log entry and ${required} ${required === 1 ? 'is' : 'are'} required`;
  throw new AirlockError(
    'E_TLOG_ENTRY',
    trust.kind === 'key'
      ? `${why}: it was signed offline (--tlog-upload=false)? with --key, --insecure-ignore-tlog ` +
          `verifies it against the key alone`
      : `${why}: a keyless signature is trustworthy only through its log entry (sign it with a transparency log)`,
    { details: { required, found: 0 } },
  );
}

/**
 * An entry's outer logIndex and integratedTime are signed only by a signed entry timestamp (Rekor
 * v1's inclusion promise). Without one — a Rekor v2 entry, checkpoint and inclusion proof only — the
 * index the proof proves is the only index the log vouches for, so the outer one must equal it
 * before it is reported. A Rekor v1 entry with a promise may differ: its outer
 * index is the log's global one, signed by the promise, and the proof's is the shard's.
 */
export function checkLogIndices(bundle: Bundle, checks: Checks): void {
  const proven: string[] = [];
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const proof = entry.inclusionProof;
    if (entry.inclusionPromise || !proof) continue;
    if (!sameIndex(entry.logIndex, proof.logIndex)) {
      throw new AirlockError(
        'E_TLOG_INCLUSION',
        `log entry ${short(entry.logIndex)}: the bundle says index ${short(entry.logIndex)}, its ` +
          `inclusion proof proves index ${short(proof.logIndex)}`,
        {
          hint: 'the bundle was edited after the log answered: only the proven index is signed by the log',
          details: { expected: short(proof.logIndex), found: short(entry.logIndex) },
        },
      );
    }
    proven.push(proof.logIndex);
  }
  if (proven.length > 0) checks.pass('log index', { proven });
}

const short = (text: string) => bounded(text, 24);

function sameIndex(a: string, b: string): boolean {
  try {
    return BigInt(a) === BigInt(b);
  } catch {
    return false;
  }
}

/** The signing times the RFC 3161 timestamps in the entity vouch for (verified by then). */
export function tsaTimes(entity: SignedEntity): Date[] {
  return entity.timestamps.flatMap((t) => (t.$case === 'timestamp-authority' ? [t.timestamp.signingTime] : []));
}

/**
 * @sigstore/verify ignores the log key's validity window for checkpoint-only (Rekor v2) entries. A log
 * key vouches only for what it signed while valid: with no signed entry time, that is checked at
 * every verified TSA time; with no signed time at all (key trust, no timestamps), at `now`, because
 * a retired log key cannot vouch for an entry made at an unknown time.
 */
export function checkTlogKeyValidity(
  bundle: Bundle,
  material: TrustMaterial,
  entity: SignedEntity,
  checks: Checks,
  now: Date,
): void {
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const integrated = Number(entry.integratedTime);
    const signedTimes = entry.inclusionPromise && integrated > 0 ? [new Date(integrated * 1000)] : tsaTimes(entity);
    const times = signedTimes.length > 0 ? signedTimes : [now];
    const logs = material.tlogs.filter((l) => l.logID.equals(entry.logId?.keyId ?? Buffer.alloc(0)));
    if (logs.length === 0) continue; // the Verifier already refused or counted it
    const valid = logs.some((l) => times.every((t) => l.validFor.start <= t && t <= l.validFor.end));
    if (!valid) {
      const window = logs.map((l) => `${l.validFor.start.toISOString()}..${l.validFor.end.toISOString()}`).join(', ');
      throw new AirlockError(
        'E_TLOG_ENTRY',
        `log entry ${entry.logIndex}: the log key was not valid at ` +
          `${times.map((t) => t.toISOString()).join(', ')} (valid ${window})`,
      );
    }
    checks.pass('log key validity', {
      logIndex: entry.logIndex,
      times: times.map((t) => t.toISOString()),
      ...(signedTimes.length === 0 ? { at: 'verification time: the entry carries no signed time' } : {}),
    });
  }
}

/** The time a log entry vouches for: its integratedTime, only when a signed entry timestamp covers it. */
export function signedIntegratedTime(entry: {
  readonly inclusionPromise?: unknown;
  readonly integratedTime: string;
}): string | undefined {
  return entry.inclusionPromise && Number(entry.integratedTime) > 0
    ? new Date(Number(entry.integratedTime) * 1000).toISOString()
    : undefined;
}
