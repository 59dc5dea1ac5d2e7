// Remembers signature checks that succeeded, so that verifying the same signature again (the
// admission path sees the same image signatures on every pod) costs a hash instead of an ECDSA
// verify. What is remembered is a fact of mathematics, not a verdict: "this public key made this
// signature over bytes with this digest, under this scheme". It holds at every instant and under
// every policy, so it is safe across verifications; everything that depends on time, policy or
// trust (is the key trusted, was it valid then, does the identity match, is the entry in the log) is
// still decided afresh by the caller every time.
//
// The memo key binds every input of the check: the key's SubjectPublicKeyInfo, the scheme (which
// hash, prehashed or not), a SHA-256 of the exact bytes the check consumes (computed by the caller
// from those bytes, never taken from a bundle's claim) and the exact signature bytes; a change in
// any of them is a miss and a full verification. Like every content address in airlock, this rests
// on SHA-256's collision resistance. Failed checks are never remembered: a place in the memo costs
// a valid signature by a key the caller already trusts.
import { createHash, type KeyObject } from 'node:crypto';
import { BoundedMap } from '../bounded-map.ts';
import { spkiDer } from './keys.ts';

/** Successful checks remembered; the least recently used is forgotten first. */
export const SIGNATURE_MEMO_LIMIT = 16_384;

function lengthPrefixed(hash: ReturnType<typeof createHash>, bytes: Uint8Array): void {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  hash.update(len).update(bytes);
}

export class SignatureMemo {
  readonly #accepted: BoundedMap<string, true>;

  constructor(limit = SIGNATURE_MEMO_LIMIT) {
    this.#accepted = new BoundedMap(limit, { order: 'use' });
  }

  /** Whether the last check() was answered from memory (for the verification report). */
  lastRemembered = false;

  /**
   * `verify()` decides whether `key` made `signature` over the bytes `signed` identifies (their
   * SHA-256, or the digest itself when the check consumes a digest) under `scheme`; its `true` is
   * remembered, its `false` (or a throw) is not.
   */
  check(key: KeyObject, scheme: string, signed: Uint8Array, signature: Uint8Array, verify: () => boolean): boolean {
    const h = createHash('sha256');
    lengthPrefixed(h, spkiDer(key));
    lengthPrefixed(h, Buffer.from(scheme));
    lengthPrefixed(h, signed);
    lengthPrefixed(h, signature);
    const id = h.digest('base64');
    this.lastRemembered = this.#accepted.get(id) === true; // and it becomes the most recently used
    if (this.lastRemembered) return true;
    if (!verify()) return false;
    this.#accepted.set(id, true); // a limit of 0 or less keeps nothing
    return true;
  }

  get size(): number {
    return this.#accepted.size;
  }

  clear(): void {
    this.#accepted.clear();
  }
}
