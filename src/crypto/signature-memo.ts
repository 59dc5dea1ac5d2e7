// Remembers signature checks that succeeded, so that verifying the same signature again (the
// admission path sees the same image signatures on every pod) costs a hash instead of an ECDSA
// verify. What is remembered is a fact of mathematics, not a verdict: "this public key made this
// signature over bytes with this digest, under this scheme". It holds at every instant and under
// every policy, so it is safe across verifications; everything that depends on time, policy or
// trust (is the key trusted, was it valid then, does the identity match, is the entry in the log) is
// still decided afresh by the caller every time.
//
// The memo key binds every input of the check: the key's SubjectPublicKeyInfo, the scheme (which
// hash, prehashed or not), the digest of the signed bytes and the exact signature bytes; a change
// in any of them is a miss and a full verification. Failed checks are never remembered, so only a
// valid signature can take a place, and flooding it with bad ones evicts nothing.
import { createHash, type KeyObject } from 'node:crypto';

/** Successful checks remembered; the least recently used is forgotten first. */
export const SIGNATURE_MEMO_LIMIT = 16_384;

const fingerprints = new WeakMap<KeyObject, Buffer>();

function keyFingerprint(key: KeyObject): Buffer {
  let fp = fingerprints.get(key);
  if (!fp) {
    fp = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest();
    fingerprints.set(key, fp);
  }
  return fp;
}

function lengthPrefixed(hash: ReturnType<typeof createHash>, bytes: Uint8Array): void {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  hash.update(len).update(bytes);
}

export class SignatureMemo {
  readonly #limit: number;
  readonly #accepted = new Map<string, true>();

  constructor(limit = SIGNATURE_MEMO_LIMIT) {
    this.#limit = limit;
  }

  /**
   * `verify()` decides whether `key` made `signature` over the bytes whose digest is `signedDigest`
   * under `scheme`; its `true` is remembered, its `false` (or a throw) is not.
   */
  check(key: KeyObject, scheme: string, signedDigest: Uint8Array, signature: Uint8Array, verify: () => boolean): boolean {
    const h = createHash('sha256');
    lengthPrefixed(h, keyFingerprint(key));
    lengthPrefixed(h, Buffer.from(scheme));
    lengthPrefixed(h, signedDigest);
    lengthPrefixed(h, signature);
    const id = h.digest('base64');
    if (this.#accepted.has(id)) {
      this.#accepted.delete(id); // most recently used goes last
      this.#accepted.set(id, true);
      return true;
    }
    if (!verify()) return false;
    if (this.#accepted.size >= this.#limit) this.#accepted.delete(this.#accepted.keys().next().value as string);
    this.#accepted.set(id, true);
    return true;
  }

  get size(): number {
    return this.#accepted.size;
  }

  clear(): void {
    this.#accepted.clear();
  }
}
