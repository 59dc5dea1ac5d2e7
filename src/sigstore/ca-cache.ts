// Speeds up @sigstore/verify's certificate-path building without changing what it checks, through the
// library's public classes only (no method of its objects is replaced, no private field is set).
// Every verification rebuilds the path leaf → intermediate → root, re-verifies the CA certificates' own
// signatures, and re-encodes DER many times over (@sigstore/core encodes through zero-filled 1 KiB
// blocks). So:
//   - certificates are rebuilt over an ASN.1 tree whose nodes encode once (DerOnce, a subclass of the
//     public ASN1Obj): the same bytes, computed once per node;
//   - the CA certificates of a trusted root (CaCertificate, a subclass of the public X509Certificate)
//     remember the result of being verified by another CA certificate of the same root, and which leaf
//     certificates (by the SHA-256 of their DER) their key has already verified: "a CA chain already
//     verified", the cache issue 4 allows. Only the signature check is remembered: dates, SCTs, identity
//     and everything else about the bundle are checked afresh every time, and no verdict is cached;
//   - a bundle's leaf certificate (LeafCertificate) consults that record.
// Trust material is copied with these certificates in it; the library's own objects are left as they are.
import { createHash } from 'node:crypto';
import { ASN1Obj, X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { BoundedMap } from '../bounded-map.ts';

/** Leaf certificates remembered per CA certificate; the oldest is forgotten first. */
export const LEAF_CACHE_LIMIT = 4096;

/**
 * An ASN.1 node that keeps its DER encoding, and knows when it is stale: a node's encoding is a function
 * of its tag, its value (never changed after parsing) and its children's encodings, so it is reused as
 * long as every child answers with the very buffer it answered with before. A child whose subtree was
 * changed (@sigstore/verify removes the SCT extension from a clone to rebuild the precertificate)
 * answers with a new buffer, and every node above it is encoded again; nothing else is.
 */
class DerOnce extends ASN1Obj {
  #der: Buffer | undefined;
  #parts: Buffer[] | undefined;

  constructor(
    tag: ASN1Obj['tag'],
    value: ASN1Obj['value'],
    subs: ASN1Obj[],
    seed?: { der: Buffer; parts: Buffer[] | undefined },
  ) {
    super(tag, value, subs);
    this.#der = seed?.der;
    this.#parts = seed?.parts;
  }

  /** What a copy may start from: the encoding and the children's encodings it was made of. */
  get memo(): { der: Buffer; parts: Buffer[] | undefined } | undefined {
    return this.#der ? { der: this.#der, parts: this.#parts } : undefined;
  }

  override toDER(): Buffer {
    if (this.subs.length === 0 && this.#parts === undefined) {
      this.#der ??= super.toDER();
      return this.#der;
    }
    const parts = this.subs.map((sub) => sub.toDER());
    const fresh =
      this.#der !== undefined &&
      this.#parts !== undefined &&
      parts.length === this.#parts.length &&
      parts.every((p, i) => p === this.#parts?.[i]);
    if (!fresh) {
      this.#der = super.toDER();
      this.#parts = parts;
    }
    return this.#der as Buffer;
  }
}

/**
 * The same tree, every node a DerOnce: new nodes and new child lists (changing the copy never changes the original),
 * each starting from what the original had encoded.
 */
function encodeOnce(node: ASN1Obj): ASN1Obj {
  return new DerOnce(node.tag, node.value, node.subs.map(encodeOnce), node instanceof DerOnce ? node.memo : undefined);
}

/** A bounded insertion-ordered memo: the oldest entry goes first (a hit does not keep one longer). */
function insertionOrdered<V>(): BoundedMap<string, V> {
  return new BoundedMap(LEAF_CACHE_LIMIT, { order: 'insertion' });
}

/** A CA certificate of a trusted root, with what it has verified remembered (see above). */
export class CaCertificate extends X509Certificate {
  /** Leaf DER digests this certificate's key has verified. */
  readonly leaves = insertionOrdered<true>();
  readonly #verifiedBy = new WeakMap<X509Certificate, boolean>();
  readonly #der: Buffer;
  #trusted: ReadonlySet<X509Certificate> = new Set();
  #spki: Buffer | undefined;

  constructor(cert: X509Certificate) {
    super(encodeOnce(cert.root));
    this.#der = this.root.toDER();
  }

  /** The other CA certificates of its root: only their verdicts are remembered. */
  trustAlong(certs: ReadonlySet<X509Certificate>): void {
    this.#trusted = certs;
  }

  override get publicKey(): Buffer {
    this.#spki ??= super.publicKey;
    return this.#spki;
  }

  override equals(other: X509Certificate): boolean {
    return other === this || this.#der.equals(other.root.toDER());
  }

  override verify(issuer?: X509Certificate): boolean {
    const key = issuer ?? this;
    if (!this.#trusted.has(key)) return super.verify(issuer); // an issuer from a bundle: never remembered
    let result = this.#verifiedBy.get(key);
    if (result === undefined) {
      result = super.verify(issuer);
      this.#verifiedBy.set(key, result);
    }
    return result;
  }
}

/** A bundle's leaf certificate: verified by a CaCertificate, it asks that CA's record first. */
export class LeafCertificate extends X509Certificate {
  #digest: string | undefined;
  #spki: Buffer | undefined;

  constructor(cert: X509Certificate) {
    super(encodeOnce(cert.root));
  }

  override get publicKey(): Buffer {
    this.#spki ??= super.publicKey;
    return this.#spki;
  }

  /**
   * A copy as the library's clone() makes one (its own tree, free to change), that starts from what this one encoded.
   */
  override clone(): X509Certificate {
    return new X509Certificate(encodeOnce(this.root));
  }

  override verify(issuer?: X509Certificate): boolean {
    if (!(issuer instanceof CaCertificate)) return super.verify(issuer);
    this.#digest ??= createHash('sha256').update(this.root.toDER()).digest('hex');
    if (issuer.leaves.has(this.#digest)) return true;
    const result = super.verify(issuer);
    if (result) issuer.leaves.set(this.#digest, true);
    return result;
  }
}

/** Leaf certificates seen, by the SHA-256 of the bytes the bundle carried. */
const leaves = insertionOrdered<LeafCertificate>();

/**
 * The bundle's leaf as a LeafCertificate. One built from the same bytes before is used again: its tree
 * encodes once across verifications (bytes that differ in any way have another digest, another entry).
 */
export function leafCertificateFor(cert: X509Certificate, sent: Uint8Array | undefined): LeafCertificate {
  if (!sent) return new LeafCertificate(cert);
  const key = createHash('sha256').update(sent).digest('hex');
  let leaf = leaves.get(key);
  if (!leaf) {
    leaf = new LeafCertificate(cert);
    leaves.set(key, leaf);
  }
  return leaf;
}

/** A copy of `material` whose CA and TSA certificates are CaCertificates; the original is untouched. */
export function withRememberingCas(material: TrustMaterial): TrustMaterial {
  const all: CaCertificate[] = [];
  const wrap = <T extends { readonly certChain: X509Certificate[] }>(ca: T): T => {
    const certChain = ca.certChain.map((c) => new CaCertificate(c));
    all.push(...certChain);
    return { ...ca, certChain };
  };
  const copy: TrustMaterial = {
    ...material,
    certificateAuthorities: material.certificateAuthorities.map(wrap),
    timestampAuthorities: material.timestampAuthorities.map(wrap),
  };
  const trusted = new Set<X509Certificate>(all);
  for (const cert of all) cert.trustAlong(trusted);
  return copy;
}

/**
 * Runs synchronous parsing/verification of untrusted bytes without capturing stack traces.
 * @sigstore/core parses every OCTET STRING speculatively and throws (then swallows) an error when it
 * is not nested DER; capturing a stack for each of those costs more than the parse itself. The call
 * is synchronous, so no other code runs with the limit lowered; errors still carry code and message.
 */
export function withoutStackTraces<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
