// A CA certificate for airlock's CA: a self-signed root, or an intermediate signed by an existing CA,
// shaped as Sigstore verifiers need it (design/notes/fulcio-private-ca.md §6, pitfall 7):
//   - basicConstraints CA:TRUE (critical; pathLen 0 on an intermediate: it issues leaves only),
//     keyUsage keyCertSign + cRLSign (critical);
//   - subjectKeyIdentifier = SHA-1 of the key (RFC 5280 §4.2.1.2 (1)), which leaves' AKI will repeat;
//   - on an intermediate: extKeyUsage codeSigning (Go's chain check wants it or none) and
//     authorityKeyIdentifier = the issuer's SKI, and a validity inside the issuer's.
import { X509Certificate } from 'node:crypto';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  ExtendedKeyUsage,
  type Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  id_kp_codeSigning,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  type Name,
  SubjectKeyIdentifier,
  TBSCertificate,
  type Validity,
  Version,
} from '@peculiar/asn1-x509';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { describeCertificate } from './ca-chain.ts';
import { parseDistinguishedName } from './distinguished-name.ts';
import {
  asIs,
  keyIdentifierOf,
  serialNumberFrom,
  signatureAlgorithmOf,
  signCertificate,
  spkiOf,
  structuredExtension,
  subjectDerOf,
  subjectKeyIdentifierOf,
  validityFor,
} from './x509-parts.ts';

export interface CaIssuer {
  readonly signer: Signer;
  readonly certificate: X509Certificate;
}

export interface CaCertificateOptions {
  /** The new CA's key. */
  readonly signer: Signer;
  /** "O=…,CN=…" (distinguished-name.ts). */
  readonly subject: string;
  readonly validityDays: number;
  readonly now: Date;
  /** Random bytes for the serial number. */
  readonly serial: Uint8Array;
  /** Absent: a self-signed root. The issuer's chain is the caller's to check (ca-chain.ts). */
  readonly issuer?: CaIssuer;
}

const DAY_SECONDS = 24 * 60 * 60;
const MAX_VALIDITY_DAYS = 100 * 365;

function validityOf(options: CaCertificateOptions): Validity {
  const days = options.validityDays;
  if (!Number.isInteger(days) || days < 1 || days > MAX_VALIDITY_DAYS) {
    throw new AirlockError('E_USAGE', `--validity must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`);
  }
  const validity = validityFor(options.now, days * DAY_SECONDS);
  const issuer = options.issuer?.certificate;
  if (issuer && validity.notAfter.getTime() > issuer.validToDate) {
    const left = Math.floor((issuer.validToDate.getTime() - options.now.getTime()) / (DAY_SECONDS * 1000));
    throw new AirlockError('E_USAGE', `--validity ${days} days outlives the issuer, which expires ${issuer.validTo}`, {
      hint: `an intermediate must expire with or before its issuer: use --validity ${left} or less`,
    });
  }
  return validity;
}

function issuerKeyIdentifier(issuer: X509Certificate): Uint8Array {
  const keyIdentifier = subjectKeyIdentifierOf(issuer);
  if (keyIdentifier) return keyIdentifier;
  throw new AirlockError('E_INPUT_MALFORMED', `the issuer ${describeCertificate(issuer)} has no subjectKeyIdentifier`, {
    hint: "sigstore-js matches a certificate's authorityKeyIdentifier to its issuer's SKI",
  });
}

function caExtensions(ownKeyIdentifier: Uint8Array, issuer: X509Certificate | undefined): Extensions {
  const usage = new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign);
  const extensions: Extension[] = [
    structuredExtension(
      id_ce_basicConstraints,
      true,
      new BasicConstraints(issuer ? { cA: true, pathLenConstraint: 0 } : { cA: true }),
    ),
    structuredExtension(id_ce_keyUsage, true, usage),
    structuredExtension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ownKeyIdentifier)),
  ];
  if (issuer) {
    const authority = new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuerKeyIdentifier(issuer)) });
    extensions.splice(2, 0, structuredExtension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_codeSigning])));
    extensions.push(structuredExtension(id_ce_authorityKeyIdentifier, false, authority));
  }
  return new Extensions(extensions);
}

/** The issuer's signature must verify with the issuer certificate's key: the issuer key is the right one. */
function checkSignedBy(der: Uint8Array, options: CaCertificateOptions): void {
  const issuerKey = options.issuer?.certificate.publicKey ?? options.signer.publicKey;
  if (new X509Certificate(der).verify(issuerKey)) return;
  const signer = options.issuer?.signer ?? options.signer;
  throw new AirlockError('E_KEY_MISMATCH', `${signer.description} is not the key of the issuer certificate`, {
    hint: 'give --issuer-key the private key that belongs to the first certificate of --issuer-cert',
  });
}

/** Creates the CA certificate `options` describe and returns it as PEM. */
export async function createCaCertificate(options: CaCertificateOptions): Promise<string> {
  const { signer, issuer } = options;
  signatureAlgorithmOf(signer); // the new CA will sign leaves: refuse a key it could not sign them with
  const subject = parseDistinguishedName(options.subject);
  const spki = spkiOf(signer.publicKey);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumberFrom(options.serial),
    signature: signatureAlgorithmOf(issuer?.signer ?? signer),
    issuer: issuer ? asIs<Name>(subjectDerOf(issuer.certificate), "the issuer's subject") : subject,
    validity: validityOf(options),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: caExtensions(keyIdentifierOf(spki), issuer?.certificate),
  });
  const { der, pem } = await signCertificate(tbs, issuer?.signer ?? signer);
  checkSignedBy(der, options);
  return pem;
}
