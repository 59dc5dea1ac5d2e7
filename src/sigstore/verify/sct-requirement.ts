// A keyless certificate proves nothing about being public unless it carries SCTs from a CT log the trust
// root lists. A private CA without a CT log (airlock ca serve, Fulcio without --ct-log-url) issues
// certificates with none, so under such a root any SCT threshold ≥ 1 can never be met: the requirement
// must be dropped by the user (--ctlog-threshold 0, fulcio-private-ca.md §6), never by airlock on its own.
// Said up front, by name, rather than as the verifier's "not enough SCTs" on every bundle.
import { AirlockError } from '../../errors.ts';
import type { LoadedTrustedRoot } from '../trusted-root.ts';

/**
 * Refuses (E_TRUST_ROOT) a keyless verification that requires `ctlogThreshold` SCTs under a trust root
 * listing no CT log. Nothing to check without a root (its absence is refused where it is loaded).
 */
export function checkSctRequirement(root: LoadedTrustedRoot | undefined, ctlogThreshold: number): void {
  if (!root || ctlogThreshold === 0 || root.root.ctlogs.length > 0) return;
  throw new AirlockError(
    'E_TRUST_ROOT',
    `trust root ${root.source} has no Certificate Transparency log, so no certificate can carry the ` +
      `${ctlogThreshold} SCT(s) that --ctlog-threshold ${ctlogThreshold} requires`,
    {
      hint:
        'a private CA without a CT log (airlock ca serve) issues certificates without SCTs: drop the SCT ' +
        'requirement explicitly with --ctlog-threshold 0, or add the CT log to the root (trust create --ctfe)',
    },
  );
}
