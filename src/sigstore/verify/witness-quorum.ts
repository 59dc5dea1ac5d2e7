// The witness step of verify-blob: every log checkpoint a bundle carries must be cosigned by a quorum
// of witnesses, as log/cosignature.ts (N of a set of keys) or log/tlog-policy.ts (a C2SP tlog-policy)
// counts it. A log that shows one client a tree the others never see is caught only this way: the
// witnesses cosign no checkpoint inconsistent with the ones they saw before.
import type { Bundle } from '@sigstore/bundle';
import { AirlockError } from '../../errors.ts';
import {
  type CosignatureVerifier,
  checkWitnessQuorumPolicy,
  verifyWitnessQuorum,
  type WitnessQuorum,
} from '../../log/cosignature.ts';
import { keyIdHex } from '../../log/note.ts';
import { checkpointMeetsPolicy, type TlogPolicy } from '../../log/tlog-policy.ts';
import type { Checks } from './report.ts';

/**
 * Witness cosignatures (C2SP tlog-cosignature) required on the log checkpoints of a bundle. Sigstore
 * clients ignore signature lines other than the log's; with this, every checkpoint in the bundle must
 * carry verified cosignatures of at least `required` distinct witness names.
 */
export type WitnessPolicy =
  | {
      /** The witnesses' keys: `parseCosignerKey(vkey).verifier`. Several keys of one name count once. */
      readonly verifiers: readonly CosignatureVerifier[];
      /** 1 to the number of distinct names in `verifiers`. */
      readonly required: number;
    }
  | {
      /**
       * A C2SP tlog-policy (`parseTlogPolicy`), as `log serve --witness-policy` takes: its witnesses
       * must satisfy its quorum (groups nest), and when it names logs, the checkpoint must be one of theirs.
       */
      readonly policy: TlogPolicy;
      /** Where it came from, for messages (a file name). */
      readonly source: string;
    };

/** A policy that could never be met is a usage error before anything is verified, not a verdict after. */
export function checkWitnessPolicy(policy: WitnessPolicy | undefined): void {
  if (policy && 'verifiers' in policy) checkWitnessQuorumPolicy(policy.verifiers, policy.required);
}

/** What one witness requirement asks of a checkpoint, and how to say it. */
interface WitnessRule {
  /** "2 of the witnesses a, b" or "the quorum 'q' of FILE". */
  readonly wanted: string;
  readonly details: Readonly<Record<string, unknown>>;
  evaluate(envelope: string): Omit<WitnessQuorum, 'required'>;
  /** Why a checkpoint cosigned by `cosigned` falls short. */
  shortfall(cosigned: readonly string[]): string;
}

function witnessRule(policy: WitnessPolicy): WitnessRule {
  if ('policy' in policy) {
    const { quorum, witnesses } = policy.policy;
    return {
      wanted: `the quorum '${quorum}' of ${policy.source}`,
      details: { policy: policy.source, quorum, witnesses: witnesses.map((w) => w.name) },
      evaluate: (envelope) => checkpointMeetsPolicy(policy.policy, envelope),
      shortfall: (cosigned) =>
        `its checkpoint is cosigned by ${cosigned.join(', ') || "none of the policy's witnesses"}` +
        `: not enough for the quorum '${quorum}' of ${policy.source}`,
    };
  }
  const names = checkWitnessQuorumPolicy(policy.verifiers, policy.required);
  return {
    wanted: `${policy.required} of the witnesses ${names.join(', ')}`,
    details: { required: policy.required, witnesses: names },
    evaluate: (envelope) => verifyWitnessQuorum(envelope, policy.verifiers, policy.required),
    shortfall: (cosigned) =>
      `its checkpoint is cosigned by ${cosigned.length} of the witnesses ${names.join(', ')} ` +
      `(${cosigned.join(', ') || 'none'}); ${policy.required} required`,
  };
}

/** The checkpoints the bundle's log entries are proven in; none is a denial, since there is nothing to cosign. */
function checkpointsToCosign(bundle: Bundle, rule: WitnessRule): Array<{ logIndex: string; envelope: string }> {
  const entries = bundle.verificationMaterial.tlogEntries.flatMap((entry) => {
    const envelope = entry.inclusionProof?.checkpoint?.envelope;
    return envelope ? [{ logIndex: entry.logIndex, envelope }] : [];
  });
  if (entries.length === 0) {
    throw new AirlockError(
      'E_TLOG_CHECKPOINT',
      `cosignatures of ${rule.wanted} are required, but the bundle has no log entry with a ` +
        `checkpoint for them to cosign`,
      {
        details: { ...rule.details, cosigned: [] },
      },
    );
  }
  return entries;
}

/** One checkpoint's cosignatures against the rule: who cosigned and when, or the refusal. */
function checkCheckpointQuorum(rule: WitnessRule, logIndex: string, envelope: string) {
  let quorum: Omit<WitnessQuorum, 'required'>;
  try {
    quorum = rule.evaluate(envelope);
  } catch (err) {
    // A malformed note, a cosignature naming a given witness key that does not verify over it, or
    // (with a policy) a checkpoint of a log the policy does not name.
    if (err instanceof AirlockError && err.code === 'E_TLOG_CHECKPOINT') {
      throw new AirlockError('E_TLOG_CHECKPOINT', `log entry ${logIndex}: ${err.message}`, {
        cause: err,
        ...(err.hint ? { hint: err.hint } : {}),
        details: { logIndex, ...rule.details },
      });
    }
    throw err;
  }
  if (!quorum.ok) {
    throw new AirlockError('E_TLOG_CHECKPOINT', `log entry ${logIndex}: ${rule.shortfall(quorum.cosigned)}`, {
      details: { logIndex, ...rule.details, cosigned: quorum.cosigned },
    });
  }
  return {
    logIndex,
    cosigned: quorum.cosigned,
    cosignatures: quorum.cosignatures.map((c) => ({
      name: c.name,
      keyId: keyIdHex(c.keyId),
      time: c.time.toISOString(),
    })),
  };
}

/**
 * Every checkpoint in the bundle must carry cosignatures of `required` distinct witnesses. Runs after
 * @sigstore/verify has checked each checkpoint's log signature and each inclusion proof against it, so
 * what the witnesses vouch for is the tree head the entry is proven in. A checkpoint text has no empty
 * line, so @sigstore/verify (first empty line) and the note parser (last one) read the same text.
 */
export function checkWitnessCosignatures(bundle: Bundle, policy: WitnessPolicy, checks: Checks): void {
  const rule = witnessRule(policy);
  const results = checkpointsToCosign(bundle, rule).map(({ logIndex, envelope }) =>
    checkCheckpointQuorum(rule, logIndex, envelope),
  );
  checks.pass('witness cosignatures', { ...rule.details, entries: results });
}
