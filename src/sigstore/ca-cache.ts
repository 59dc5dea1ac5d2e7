// Speeds up @sigstore/verify's certificate-path building without changing what it checks. Every
// verification rebuilds the path leaf → intermediate → root and re-verifies the CA certificates'
// own signatures, re-encoding their DER each time. The CA certificates of a trusted root never change,
// so on those instances only we memoise:
//   - their DER and SubjectPublicKeyInfo bytes (pure functions of the parsed certificate);
//   - the result of verifying one CA certificate with another CA certificate of the same root;
//   - which leaf certificates (by the SHA-256 of their whole DER) a CA certificate's key has
//     already verified: "a CA chain already verified", the cache issue 4 allows. Only the signature
//     check is remembered: dates, SCTs, identity and everything else about the bundle are checked
//     afresh every time, and no verdict is ever cached.
import { createHash } from 'node:crypto';
import { ByteStream, type X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';

/** Leaf certificates remembered per CA certificate; the oldest is forgotten first. */
export const LEAF_CACHE_LIMIT = 4096;

type Cert = X509Certificate & { __airlockMemo?: true; __airlockLeaves?: Map<string, true> };

function memoise(cert: Cert, caSet: ReadonlySet<X509Certificate>): void {
  if (cert.__airlockMemo) return;
  memoiseEncoding(cert.root);
  const der = cert.root.toDER();
  const spki = cert.publicKey;
  const verified = new WeakMap<X509Certificate, boolean>();
  const originalVerify = cert.verify.bind(cert);
  Object.defineProperties(cert, {
    __airlockMemo: { value: true },
    __airlockLeaves: { value: new Map<string, true>() },
    publicKey: { value: spki },
    equals: { value: (other: X509Certificate) => other === cert || der.equals(other.root.toDER()) },
    verify: {
      value: (issuer?: X509Certificate) => {
        const key = issuer ?? cert;
        if (!caSet.has(key)) return originalVerify(issuer); // issuer from a bundle: never cached
        let result = verified.get(key);
        if (result === undefined) {
          result = originalVerify(issuer);
          verified.set(key, result);
        }
        return result;
      },
    },
  });
}

export function memoiseCaCertificates(material: TrustMaterial): void {
  const certs = [...material.certificateAuthorities, ...material.timestampAuthorities].flatMap((ca) => ca.certChain);
  const caSet = new Set<X509Certificate>(certs);
  for (const cert of certs) memoise(cert, caSet);
}

type Encodable = { toDER(): Buffer };

/**
 * Memoises, lazily, the DER re-encoding of one ASN.1 node instance (its bytes cannot change after
 * parsing). Memoising the TBS first lets the whole certificate's encoding reuse it.
 */
function memoiseEncoding(obj: Encodable): void {
  const encode = obj.toDER.bind(obj);
  let der: Buffer | undefined;
  Object.defineProperty(obj, 'toDER', { value: () => (der ??= encode()) });
}

/** Leaf certificates seen, by the SHA-256 of the bytes the bundle carried: their DER as re-encoded. */
const leafEncodings = new Map<string, { readonly der: Buffer; readonly digest: string }>();

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= LEAF_CACHE_LIMIT) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

/**
 * The bundle's own certificate is re-encoded to DER many times in one verification (path building
 * compares certificates by their DER, the signature check re-encodes the TBS). Memoised on this one
 * instance; the SCT check works on a fresh clone, untouched. The whole-certificate re-encoding is a
 * pure function of the bytes the bundle carried (`sent`), so it is also remembered across
 * verifications by their digest.
 * Its signature check by a trusted root's CA certificate consults that CA's record of leaves it
 * already verified; a certificate differing in any byte has another digest and is verified afresh.
 */
export function memoiseLeafCertificate(cert: X509Certificate, sent?: Uint8Array): void {
  memoiseEncoding(cert.tbsCertificate);
  const key = sent ? createHash('sha256').update(sent).digest('hex') : undefined;
  let encoded = key ? leafEncodings.get(key) : undefined;
  const encode = cert.root.toDER.bind(cert.root);
  const encoding = () => {
    if (!encoded) {
      const der = encode();
      encoded = { der, digest: createHash('sha256').update(der).digest('hex') };
      if (key) remember(leafEncodings, key, encoded);
    }
    return encoded;
  };
  Object.defineProperty(cert.root, 'toDER', { value: () => encoding().der });
  let spki: Buffer | undefined;
  const original = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(cert), 'publicKey')?.get;
  Object.defineProperty(cert, 'publicKey', { get: () => (spki ??= original?.call(cert)) });
  const originalVerify = cert.verify.bind(cert);
  Object.defineProperty(cert, 'verify', {
    value: (issuer?: X509Certificate) => {
      const leaves = (issuer as Cert | undefined)?.__airlockLeaves;
      if (!leaves) return originalVerify(issuer);
      const { digest } = encoding();
      if (leaves.has(digest)) return true;
      const result = originalVerify(issuer);
      if (result) remember(leaves, digest, true as const);
      return result;
    },
  });
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

/**
 * @sigstore/core's ByteStream grows DER buffers in zero-filled 1 KiB blocks, and re-encodes every
 * ASN.1 node through two fresh streams: most of a verification went to allocating and zeroing
 * buffers. Small blocks keep the same bytes with a fraction of the allocation. Tuning only: the
 * encoded output is identical.
 */
export function tuneDerEncoding(): void {
  (ByteStream as unknown as { BLOCK_SIZE: number }).BLOCK_SIZE = 32;
}
