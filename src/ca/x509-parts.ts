// The pieces both certificate builders (leaf certificates, CA certificates) share: the signature
// algorithm a Signer implies, serial numbers, validity, key identifiers, names kept byte for byte, and
// the final signing step. Structures come from @peculiar/asn1-x509; nothing here encodes ASN.1 by hand.
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import { AsnConvert, AsnSerializer, type IAsnConvertible, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Certificate,
  Extension,
  id_ce_subjectKeyIdentifier,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  type TBSCertificate,
  Validity,
} from '@peculiar/asn1-x509';
import { type AsnType, fromBER } from 'asn1js';
import { encodePem } from '../crypto/pem.ts';
import { SIGNING_ALGORITHMS, type Signer, type SigningAlgorithm } from '../crypto/signer.ts';
import { spkiDer } from '../crypto/keys.ts';
import { AirlockError } from '../errors.ts';

const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const OID_ED25519 = '1.3.101.112';
const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/** RFC 5280 §4.1.2.2: at most 20 octets. */
const MAX_SERIAL_BYTES = 20;

/**
 * The signatureAlgorithm a certificate signed by `signer` carries (RFC 5758 §3.2 for ECDSA: no
 * parameters; RFC 8410 §3 for Ed25519: none; RFC 4055 §5 for RSA PKCS#1: NULL).
 */
export function signatureAlgorithmOf(signer: Signer): AlgorithmIdentifier {
  const algorithm: SigningAlgorithm = signer.algorithm;
  const family = SIGNING_ALGORITHMS[algorithm].family;
  if (algorithm === 'ecdsa-sha2-256-nistp256') return new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA256 });
  if (algorithm === 'ecdsa-sha2-384-nistp384') return new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA384 });
  if (family === 'ed25519') return new AlgorithmIdentifier({ algorithm: OID_ED25519 });
  if (family === 'rsa-pkcs1') return new AlgorithmIdentifier({ algorithm: OID_SHA256_WITH_RSA, parameters: null });
  throw new AirlockError('E_KEY_UNSUPPORTED', `a CA key signing ${algorithm} is not supported`, {
    hint: 'use an ECDSA P-256 or P-384, Ed25519, or RSA PKCS#1 v1.5 key for the CA',
  });
}

/**
 * A positive serial number of at most 20 octets from random bytes (RFC 5280 §4.1.2.2): the top bit is
 * cleared so the INTEGER is positive, and leading zero octets are dropped so its encoding is DER.
 */
export function serialNumberFrom(random: Uint8Array): ArrayBuffer {
  const bytes = Uint8Array.from(random.subarray(0, MAX_SERIAL_BYTES));
  if (bytes.length > 0) bytes[0] = (bytes[0] as number) & 0x7f;
  const first = bytes.findIndex((b) => b !== 0);
  if (first < 0) throw new AirlockError('E_INTERNAL', 'the random serial number is zero');
  const significant = bytes.subarray(first);
  // A dropped zero octet makes room for the sign octet the next byte may need.
  const der = ((significant[0] as number) & 0x80) !== 0 ? Uint8Array.of(0, ...significant) : significant;
  return Uint8Array.from(der).buffer;
}

/** Validity from `notBefore` (whole seconds, as certificates carry them) for `seconds`. */
export function validityFor(notBefore: Date, seconds: number): Validity {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new AirlockError('E_USAGE', `a certificate's validity must be a whole number of seconds above 0`);
  }
  const start = Math.floor(notBefore.getTime() / 1000) * 1000;
  // asn1-x509's Time picks UTCTime through 2049 and GeneralizedTime after, as RFC 5280 §4.1.2.5 says.
  return new Validity({ notBefore: new Date(start), notAfter: new Date(start + seconds * 1000) });
}

export function spkiOf(key: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(spkiDer(key), SubjectPublicKeyInfo);
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 over the subjectPublicKey BIT STRING's value. */
export function keyIdentifierOf(spki: SubjectPublicKeyInfo): Uint8Array {
  return createHash('sha1').update(new Uint8Array(spki.subjectPublicKey)).digest();
}

export function extension(oid: string, critical: boolean, value: ArrayBuffer | Uint8Array): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
}

/** An extension whose value is `structure`, DER-encoded. */
export function structuredExtension(oid: string, critical: boolean, structure: unknown): Extension {
  return extension(oid, critical, AsnConvert.serialize(structure));
}

function parsedCertificate(cert: X509Certificate): Certificate {
  return AsnConvert.parse(cert.raw, Certificate);
}

/** The certificate's subjectKeyIdentifier, or undefined when it has none. */
export function subjectKeyIdentifierOf(cert: X509Certificate): Uint8Array | undefined {
  const ext = parsedCertificate(cert).tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  if (!ext) return undefined;
  return new Uint8Array(AsnConvert.parse(ext.extnValue, SubjectKeyIdentifier).buffer);
}

/**
 * The certificate's subject as the DER bytes it carries. A certificate's issuer must match its CA's
 * subject, and path builders compare them byte for byte; re-encoding a parsed Name could change a
 * string type and break that.
 */
export function subjectDerOf(cert: X509Certificate): Uint8Array {
  const parsed = fromBER(new Uint8Array(cert.raw));
  const tbs = (parsed.result.valueBlock as { value?: unknown[] }).value?.[0] as { valueBlock: { value: unknown[] } };
  const fields = tbs.valueBlock.value as Array<{ idBlock: { tagClass: number }; valueBeforeDecodeView: Uint8Array }>;
  // [0] version is present in v2/v3 certificates and shifts the later fields by one.
  const offset = fields[0]?.idBlock.tagClass === 3 ? 1 : 0;
  const subject = fields[offset + 4];
  if (!subject) throw new AirlockError('E_INPUT_MALFORMED', 'the CA certificate has no subject');
  return Uint8Array.from(subject.valueBeforeDecodeView);
}

/** A stand-in for a structure (a Name, a TBSCertificate) in a parent: it serialises as `block`. */
function asBlock<T>(block: AsnType): T {
  const stand: IAsnConvertible = { toASN: () => block, fromASN: () => stand, toSchema: () => block };
  return stand as unknown as T;
}

/**
 * A stand-in for a structure that serialises as exactly `der`, checked once here to round-trip
 * through asn1js (which re-encodes what it parsed), so what ends up in a certificate is `der` and not
 * a re-encoding of a parse of it.
 */
export function asIs<T>(der: Uint8Array, what: string): T {
  const parsed = fromBER(der);
  if (parsed.offset !== der.length || parsed.result.error || !Buffer.from(parsed.result.toBER()).equals(der)) {
    throw new AirlockError('E_INPUT_MALFORMED', `${what} is not DER-encoded`);
  }
  return asBlock<T>(parsed.result);
}

/** Signs the TBSCertificate's DER with `signer` and returns the certificate holding those very bytes. */
export async function signCertificate(tbs: TBSCertificate, signer: Signer): Promise<{ der: Uint8Array; pem: string }> {
  // One asn1js tree for both encodings: encoding it is deterministic, and building it twice costs
  // more than signing (asn1-schema and asn1js take about a millisecond per certificate).
  const tbsBlock = AsnSerializer.toASN(tbs);
  const signature = await signer.sign(new Uint8Array(tbsBlock.toBER(false)));
  const certificate = new Certificate({
    tbsCertificate: asBlock<TBSCertificate>(tbsBlock),
    signatureAlgorithm: tbs.signature,
    signatureValue: Uint8Array.from(signature).buffer,
  });
  const der = new Uint8Array(AsnConvert.serialize(certificate));
  return { der, pem: encodePem('CERTIFICATE', der) };
}
