// What a timestamp authority's certificates must be, checked before `tsa serve` starts and after `tsa
// init` made them: openssl itself refuses a signer without the timeStamping purpose, but only when the
// first query comes, as a failed reply; checked here the operator reads why at start instead.
//
// RFC 3161 §2.3: the TSA's certificate "MUST contain only one instance of the extended key usage field
// extension ... with KeyPurposeID having value id-kp-timeStamping. This extension MUST be critical."
// OpenSSL (check_purpose_timestamp_sign) further allows key usage, when present, only digitalSignature
// and/or nonRepudiation; both are held here so a certificate passing this check is one openssl signs with.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Certificate,
  ExtendedKeyUsage,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_kp_timeStamping,
  KeyUsage,
  KeyUsageFlags,
} from '@peculiar/asn1-x509';
import { parsePemBlocks } from '../crypto/pem.ts';
import { AirlockError } from '../errors.ts';
import { readInputText } from '../files/read-file.ts';
import { bounded } from '../text.ts';

/** Key usage bits a TSA certificate may carry (OpenSSL's rule; RFC 3161 names none). */
const ALLOWED_KEY_USAGE = KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation;
const MAX_KEY_BYTES = 64 * 1024;

/** A certificate's subject on one line (node:crypto separates its parts with newlines). */
export const subjectLine = (cert: X509Certificate): string => cert.subject.split('\n').join(', ');

/** A chain file's certificates, TSA certificate first, each issued by the next; E_INPUT_MALFORMED otherwise. */
export function parseTsaChain(text: string, what: string): X509Certificate[] {
  const blocks = parsePemBlocks(text);
  const other = blocks.find((b) => b.type !== 'CERTIFICATE');
  if (other)
    throw new AirlockError('E_INPUT_MALFORMED', `${what} holds a ${bounded(other.type, 40)} block`, {
      hint: 'the chain file holds certificates only (PEM), the TSA certificate first; the key goes in --key',
    });
  if (blocks.length === 0) throw new AirlockError('E_INPUT_MALFORMED', `${what} holds no PEM certificate`);
  const certificates = blocks.map((b, i) => {
    try {
      return new X509Certificate(b.der);
    } catch (err) {
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: certificate ${i + 1} does not parse`, { cause: err });
    }
  });
  checkOrder(certificates, what);
  return certificates;
}

function checkOrder(certificates: readonly X509Certificate[], what: string): void {
  for (let i = 0; i + 1 < certificates.length; i++) {
    const [cert, issuer] = [certificates[i] as X509Certificate, certificates[i + 1] as X509Certificate];
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
      throw new AirlockError(
        'E_INPUT_MALFORMED',
        `${what}: certificate ${i + 1} (${bounded(subjectLine(cert))}) is not issued by certificate ${i + 2} ` +
          `(${bounded(subjectLine(issuer))})`,
        { hint: 'list the TSA certificate first, then each issuer up to the root' },
      );
  }
}

/** Holds `leaf` to RFC 3161 §2.3 (and OpenSSL's key usage rule); E_INPUT_MALFORMED naming what is wrong. */
export function checkTimestampingCertificate(leaf: X509Certificate, what: string): void {
  const refuse = (why: string) =>
    new AirlockError('E_INPUT_MALFORMED', `${what}: the TSA certificate (${bounded(subjectLine(leaf))}) ${why}`, {
      hint:
        'RFC 3161 §2.3: the first certificate must be the TSA\'s own, with "extendedKeyUsage = critical, ' +
        'timeStamping" and no other purpose (airlock tsa init makes one)',
    });
  if (leaf.ca) throw refuse('is a CA certificate');
  const extensions = AsnConvert.parse(leaf.raw, Certificate).tbsCertificate.extensions ?? [];
  const eku = extensions.filter((e) => e.extnID === id_ce_extKeyUsage);
  if (eku.length !== 1) throw refuse(`has ${eku.length} extended key usage extensions, not one`);
  const [extension] = eku;
  if (!extension?.critical) throw refuse('has an extended key usage that is not critical');
  const purposes = AsnConvert.parse(extension.extnValue, ExtendedKeyUsage);
  if (purposes.length !== 1 || purposes[0] !== id_kp_timeStamping)
    throw refuse(`has the purposes ${purposes.join(', ')}, not timeStamping (${id_kp_timeStamping}) alone`);
  const keyUsage = extensions.find((e) => e.extnID === id_ce_keyUsage);
  if (keyUsage && AsnConvert.parse(keyUsage.extnValue, KeyUsage).toNumber() & ~ALLOWED_KEY_USAGE)
    throw refuse('has a key usage other than digitalSignature and nonRepudiation');
}

/** E_KEY_MISMATCH unless `key` is the private key of `leaf`. */
export function checkKeyMatches(leaf: X509Certificate, key: KeyObject, keyWhat: string): void {
  if (!leaf.checkPrivateKey(key))
    throw new AirlockError(
      'E_KEY_MISMATCH',
      `${keyWhat} is not the key of the TSA certificate (${bounded(subjectLine(leaf))})`,
      { hint: 'give the key the first certificate of the chain file was issued for' },
    );
}

/** E_UNSUPPORTED for a key reference that is not a file path (pkcs11:, env://, kms://). */
export function refuseNonFileKey(ref: string, who: string): void {
  if (/^pkcs11:/i.test(ref))
    throw new AirlockError('E_UNSUPPORTED', `${who} cannot use a pkcs11: key`, {
      hint:
        'openssl signs the timestamps with a key file (PKCS#11 would need an OpenSSL engine or provider, ' +
        'which airlock does not configure); keep the TSA key in a file only the TSA can read',
    });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref))
    throw new AirlockError(
      'E_UNSUPPORTED',
      `${who} takes a key file path, not a ${bounded(ref.split('://')[0] ?? '', 20)}:// reference`,
    );
}

/**
 * A key as openssl will read it: a file holding an unencrypted private key. A pkcs11: URI or another
 * scheme is refused (E_UNSUPPORTED): `openssl ts` and `openssl ca` sign with key files only here, and
 * an encrypted key would make openssl prompt on a terminal. `who` names the command in messages.
 */
export async function readOpensslKey(ref: string, cwd: string, who: string): Promise<{ path: string; key: KeyObject }> {
  refuseNonFileKey(ref, who);
  const path = resolve(cwd, ref);
  const text = await readInputText(path, 'a private key', MAX_KEY_BYTES);
  try {
    return { path, key: createPrivateKey(text) };
  } catch (err) {
    // The library's message is not passed on: nothing read from a key file goes into messages.
    throw new AirlockError('E_KEY_UNSUPPORTED', `${bounded(ref)} is not an unencrypted private key openssl can read`, {
      hint: `${who} needs a PEM private key without a password (airlock tsa init makes one)`,
      cause: new Error((err as { code?: string }).code ?? 'unreadable key'),
    });
  }
}
