// Speeds up @sigstore/verify's certificate-path building without changing what it checks. Every
// verification rebuilds the path leaf → intermediate → root and re-verifies the CA certificates'
// own signatures, re-encoding their DER each time. The CA certificates of a trusted root never change,
// so on those instances only (never on a bundle's leaf) we memoise:
//   - their DER and SubjectPublicKeyInfo bytes (pure functions of the parsed certificate);
//   - the result of verifying one CA certificate with another CA certificate of the same root.
// A bundle's own certificate is always verified afresh, and no verdict is ever cached.
import type { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';

type Cert = X509Certificate & { __airlockMemo?: true };

function memoise(cert: Cert, caSet: ReadonlySet<X509Certificate>): void {
  if (cert.__airlockMemo) return;
  const der = cert.root.toDER();
  const spki = cert.publicKey;
  const verified = new WeakMap<X509Certificate, boolean>();
  const originalVerify = cert.verify.bind(cert);
  Object.defineProperties(cert, {
    __airlockMemo: { value: true },
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
