// The short-lived code-signing certificate the CA issues for a verified identity, laid out as Fulcio's
// MakeX509 plus Go's x509.CreateCertificate lay it out (design/notes/fulcio-private-ca.md §3):
//   v3, random positive serial, empty subject, issuer = the CA's subject bytes, notBefore = now (no
//   backdating), then the extensions in Go's order — keyUsage digitalSignature (critical), extKeyUsage
//   codeSigning, subjectKeyIdentifier, authorityKeyIdentifier = the CA's SKI, the one SAN (critical,
//   because the subject is empty: RFC 5280 §4.2.1.6) — and Fulcio's own extensions last, in the order
//   the Principal lists them, none critical.
// The leaf keeps its SKI as released Fulcio (v1.8.8) sets it: RFC 5280 §4.2.1.2 says end-entity
// certificates SHOULD carry one, and no verifier depends on it either way (#2416 drops it, unreleased).
import type { KeyObject, X509Certificate } from 'node:crypto';
import {
  AuthorityKeyIdentifier,
  ExtendedKeyUsage,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_codeSigning,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  type SubjectPublicKeyInfo,
  TBSCertificate,
  Version,
} from '@peculiar/asn1-x509';
import { Utf8String } from 'asn1js';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { type FulcioExtension, type Principal, SIGSTORE_OID_ARC, type SubjectAltName } from './identity.ts';
import {
  asIs,
  extension,
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

/** The CA that issues: its key, its certificate, and the chain verifiers get (issuing CA first … root last). */
export interface IssuingCa {
  readonly signer: Signer;
  readonly certificate: X509Certificate;
  readonly chainPem: readonly string[];
}

export interface CertificateRequest {
  /** The key being certified, already checked (request.ts). */
  readonly publicKey: KeyObject;
  readonly principal: Principal;
  readonly notBefore: Date;
  readonly validitySeconds: number;
  /** Random bytes for the serial number (at least 16 of them: CA/B BR §7.1 asks for 64 random bits). */
  readonly serial: Uint8Array;
}

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  /** As node's X509Certificate.serialNumber writes it: upper-case hex, whole octets, no sign octet. */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const MIN_SERIAL_RANDOM_BYTES = 16;

interface IssuerParts {
  /** The CA's subject, as the bytes it carries. */
  readonly name: Name;
  readonly keyIdentifier: Uint8Array;
}

// Parsed once per CA certificate, not once per certificate issued.
const issuerParts = new WeakMap<X509Certificate, IssuerParts>();

function partsOf(ca: X509Certificate): IssuerParts {
  let parts = issuerParts.get(ca);
  if (!parts) {
    const keyIdentifier = subjectKeyIdentifierOf(ca);
    if (!keyIdentifier) {
      throw new AirlockError('E_INPUT_MALFORMED', 'the issuing CA certificate has no subjectKeyIdentifier', {
        hint:
          'sigstore-js finds the CA of a certificate by its authorityKeyIdentifier (RFC 5280 §4.2.1.2 requires ' +
          'an SKI on CA certificates); re-create the CA certificate with airlock ca init',
      });
    }
    parts = { name: asIs<Name>(subjectDerOf(ca), "the issuing CA's subject"), keyIdentifier };
    issuerParts.set(ca, parts);
  }
  return parts;
}

/** Refuses a CA certificate leaves cannot be issued under (no subjectKeyIdentifier), before the first request. */
export function checkIssuerParts(ca: X509Certificate): void {
  partsOf(ca);
}

/** IA5String (RFC 5280 §4.2.1.6) allows ASCII only; RFC 8398/9598 SmtpUTF8Mailbox is not what Fulcio emits. */
function checkSan(san: SubjectAltName): void {
  if (san.value === '' || !/^[\x20-\x7e]+$/.test(san.value)) {
    throw new AirlockError(
      'E_OIDC_TOKEN',
      `the identity's ${san.kind === 'email' ? 'email address' : 'URI'} '${bounded(san.value)}' cannot be put in ` +
        'a certificate: it must be non-empty printable ASCII',
    );
  }
}

function sanExtension(san: SubjectAltName): ReturnType<typeof extension> {
  checkSan(san);
  const name =
    san.kind === 'email'
      ? new GeneralName({ rfc822Name: san.value })
      : new GeneralName({ uniformResourceIdentifier: san.value });
  return structuredExtension(id_ce_subjectAltName, true, new SubjectAlternativeName([name]));
}

function fulcioExtension(ext: FulcioExtension): ReturnType<typeof extension> {
  const value =
    ext.encoding === 'raw'
      ? new TextEncoder().encode(ext.value)
      : new Uint8Array(new Utf8String({ value: ext.value }).toBER());
  return extension(ext.oid, false, value);
}

function checkFulcioExtensions(extensions: readonly FulcioExtension[]): void {
  const seen = new Set<string>();
  for (const ext of extensions) {
    // A bug upstream of here must not let a token's claims replace a standard extension.
    if (!ext.oid.startsWith(`${SIGSTORE_OID_ARC}.`) || seen.has(ext.oid)) {
      throw new AirlockError('E_INTERNAL', `extension ${bounded(ext.oid)} is outside Sigstore's arc or repeated`);
    }
    seen.add(ext.oid);
  }
}

function leafExtensions(parts: IssuerParts, spki: SubjectPublicKeyInfo, principal: Principal): Extensions {
  checkFulcioExtensions(principal.extensions);
  return new Extensions([
    structuredExtension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
    structuredExtension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_codeSigning])),
    structuredExtension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifierOf(spki))),
    structuredExtension(
      id_ce_authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(parts.keyIdentifier) }),
    ),
    sanExtension(principal.san),
    ...principal.extensions.map(fulcioExtension),
  ]);
}

/** Issues a leaf certificate for `req` under `ca`. The CA must be valid for the whole validity. */
export async function issueCertificate(ca: IssuingCa, req: CertificateRequest): Promise<IssuedCertificate> {
  if (req.serial.length < MIN_SERIAL_RANDOM_BYTES) {
    throw new AirlockError('E_INTERNAL', `a serial number needs ${MIN_SERIAL_RANDOM_BYTES} random bytes`);
  }
  const parts = partsOf(ca.certificate);
  const validity = validityFor(req.notBefore, req.validitySeconds);
  const spki = spkiOf(req.publicKey);
  checkWithinCa(ca.certificate, validity.notBefore.getTime(), validity.notAfter.getTime());
  const serialNumber = serialNumberFrom(req.serial);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber,
    signature: signatureAlgorithmOf(ca.signer),
    issuer: parts.name,
    validity,
    subject: new Name(),
    subjectPublicKeyInfo: spki,
    extensions: leafExtensions(parts, spki, req.principal),
  });
  // What the certificate says is known from what went in: the caller need not parse it back.
  return {
    ...(await signCertificate(tbs, ca.signer)),
    serialHex: Buffer.from(serialNumber)
      .toString('hex')
      .replace(/^(00)+/, '')
      .toUpperCase(),
    notBefore: new Date(validity.notBefore.getTime()),
    notAfter: new Date(validity.notAfter.getTime()),
  };
}

/** A certificate outliving its CA fails verification later, far from here; refuse it now. */
function checkWithinCa(ca: X509Certificate, notBefore: Date, notAfter: Date): void {
  if (notBefore >= ca.validFromDate && notAfter <= ca.validToDate) return;
  throw new AirlockError(
    'E_CERT_VALIDITY',
    `the issuing CA certificate is valid ${ca.validFrom} to ${ca.validTo}, not for all of ` +
      `${notBefore.toISOString()} to ${notAfter.toISOString()}`,
    { hint: 'rotate the CA: create a new CA certificate (airlock ca init) and serve that' },
  );
}
