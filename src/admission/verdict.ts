// What the image verifier answers admission for one image and one policy entry. A verdict (verified,
// or denied by a named check) and could-not-evaluate (no answer from the registry, no usable trust
// root, past the deadline) are different things and stay different all the way to the response, the
// metrics and the audit trail; both deny in enforce mode and both admit with a warning in warn mode.
import type { PolicyEntry } from '../policy/image-policy.ts';

export type ImageVerdict =
  | { readonly outcome: 'verified'; readonly digest: string }
  | { readonly outcome: 'denied'; readonly digest: string; readonly check: string; readonly reason: string }
  | {
      readonly outcome: 'unevaluable';
      readonly digest?: string;
      /** What could not be evaluated, in a word or two for kubectl's line: `registry`, `trust root`, … */
      readonly check?: string;
      readonly reason: string;
    };

/** Verifies `image` (a reference as written: tag, digest or both) against one entry's requirements. */
export type ImageVerifier = (image: string, entry: PolicyEntry, signal: AbortSignal) => Promise<ImageVerdict>;

/** A verdict already known for `image` and `entry`, answered without any I/O (a cache), if there is one. */
export type KnownVerdict = (image: string, entry: PolicyEntry) => ImageVerdict | undefined;
