// What a CA chain must be before airlock signs anything under it: what Sigstore verifiers will demand of
// it later (design/notes/fulcio-private-ca.md §6, pitfall 7), checked now, where the fix is one command
// away, instead of at verification time on the other side of the gap.
//   - in Sigstore's order, issuing CA first, each certificate issued and signed by the next, the last
//     self-signed (sigstore-js needs the self-signed root);
//   - every certificate a CA (basicConstraints CA:TRUE) allowed to sign certificates (keyCertSign),
//     with room under its pathLenConstraint;
//   - an extended key usage of codeSigning, anyExtendedKeyUsage or none (Go's x509.Verify with
//     KeyUsages [CodeSigning] walks the whole chain);
//   - valid now.
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  anyExtendedKeyUsage,
  BasicConstraints,
  Certificate,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_kp_codeSigning,
  KeyUsage,
  KeyUsageFlags,
} from '@peculiar/asn1-x509';
import { encodePem, parsePemBlocks } from '../crypto/pem.ts';
import { SIGNING_ALGORITHMS, type Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { verifiesWith } from './verify-signature.ts';

/** More would be a mistake (a bundle of unrelated roots), not a deeper hierarchy. */
const MAX_CHAIN_LENGTH = 8;

const ORDER_HINT = 'give the chain issuing CA first and the self-signed root last (cat intermediate.pem root.pem)';

export function parseCertificateChain(pem: string, what: string): X509Certificate[] {
  const blocks = parsePemBlocks(pem);
  if (blocks.length === 0) throw new AirlockError('E_INPUT_MALFORMED', `${what}: no PEM certificate found`);
  if (blocks.length > MAX_CHAIN_LENGTH) {
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: ${blocks.length} certificates, at most ${MAX_CHAIN_LENGTH}`);
  }
  return blocks.map((block, i) => {
    if (block.type !== 'CERTIFICATE') {
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: PEM block ${i + 1} is ${block.type}, not CERTIFICATE`);
    }
    try {
      return new X509Certificate(block.der);
    } catch (err) {
      throw new AirlockError('E_INPUT_MALFORMED', `${what}: certificate ${i + 1} does not parse`, { cause: err });
    }
  });
}

/** The certificates as PEM blocks, each ending in a newline (what Fulcio's trustBundle serves). */
export function chainPemOf(certs: readonly X509Certificate[]): string[] {
  return certs.map((cert) => encodePem('CERTIFICATE', cert.raw));
}

export function describeCertificate(cert: X509Certificate): string {
  // node gives undefined, despite its types, for the empty subject of a leaf.
  const subject = cert.subject as string | undefined;
  return subject ? bounded(subject.replace(/\n/g, ', ')) : `serial ${cert.serialNumber} (empty subject)`;
}

function checkOrder(certs: readonly X509Certificate[], what: string): void {
  for (const [i, cert] of certs.entries()) {
    const issuer = certs[i + 1] ?? cert;
    if (cert.checkIssued(issuer) && cert.verify(issuer.publicKey)) continue;
    const problem =
      issuer === cert
        ? `the last certificate (${describeCertificate(cert)}) is not self-signed`
        : `certificate ${i + 1} (${describeCertificate(cert)}) is not issued by certificate ${i + 2}`;
    throw new AirlockError('E_INPUT_MALFORMED', `${what}: ${problem}`, { hint: ORDER_HINT });
  }
}

function extensionValue(cert: X509Certificate, oid: string): ArrayBuffer | undefined {
  const parsed = AsnConvert.parse(cert.raw, Certificate);
  return parsed.tbsCertificate.extensions?.find((e) => e.extnID === oid)?.extnValue.buffer;
}

/** The pathLenConstraint of a CA certificate, or undefined when it sets none. */
function pathLengthOf(cert: X509Certificate): number | undefined {
  const value = extensionValue(cert, id_ce_basicConstraints);
  return value === undefined ? undefined : AsnConvert.parse(value, BasicConstraints).pathLenConstraint;
}

function canSignCertificates(cert: X509Certificate): boolean {
  const value = extensionValue(cert, id_ce_keyUsage);
  return value !== undefined && (AsnConvert.parse(value, KeyUsage).toNumber() & KeyUsageFlags.keyCertSign) !== 0;
}

function allowsCodeSigning(cert: X509Certificate): boolean {
  const usages = cert.keyUsage; // node names the extended key usages so
  return usages === undefined || usages.includes(id_kp_codeSigning) || usages.includes(anyExtendedKeyUsage);
}

function checkCa(cert: X509Certificate, position: number, casBelow: number, what: string): void {
  const name = `${what}: certificate ${position + 1} (${describeCertificate(cert)})`;
  if (!cert.ca) throw new AirlockError('E_INPUT_MALFORMED', `${name} is not a CA (basicConstraints CA:TRUE)`);
  if (!canSignCertificates(cert)) {
    throw new AirlockError('E_INPUT_MALFORMED', `${name} has no keyUsage keyCertSign`);
  }
  const pathLength = pathLengthOf(cert);
  if (pathLength !== undefined && pathLength < casBelow) {
    throw new AirlockError('E_INPUT_MALFORMED', `${name} allows ${pathLength} CAs below it, the chain has ${casBelow}`);
  }
  if (!allowsCodeSigning(cert)) {
    throw new AirlockError('E_INPUT_MALFORMED', `${name} has an extended key usage without codeSigning`, {
      hint: 'Sigstore verifiers refuse a chain whose CAs restrict key usage to anything but code signing',
    });
  }
}

function checkValidAt(cert: X509Certificate, now: Date, what: string): void {
  if (now >= cert.validFromDate && now <= cert.validToDate) return;
  const when = now < cert.validFromDate ? `not valid before ${cert.validFrom}` : `expired ${cert.validTo}`;
  throw new AirlockError('E_CERT_VALIDITY', `${what}: ${describeCertificate(cert)} is ${when}`, {
    hint:
      now < cert.validFromDate
        ? "check this machine's clock"
        : 'create a new CA certificate (airlock ca init) and add it to the trusted root',
  });
}

/**
 * Checks `certs` (issuing CA first, root last) as a CA chain at `now`. `newCasBelow`: CA certificates
 * about to be issued under the first one (1 when it is to sign a new intermediate), for pathLen.
 */
export function checkCaChain(certs: readonly X509Certificate[], now: Date, what: string, newCasBelow = 0): void {
  checkOrder(certs, what);
  for (const [i, cert] of certs.entries()) {
    checkCa(cert, i, i + newCasBelow, what);
    checkValidAt(cert, now, what);
  }
}

/**
 * Proves that `signer` holds the private key of `cert` by signing and verifying with the
 * certificate's key: a comparison of public keys would not catch an HSM object whose label points at
 * another key pair, nor a signer whose signature encoding verifiers would refuse.
 */
export async function proveKeyMatches(signer: Signer, cert: X509Certificate, what: string): Promise<void> {
  const probe = new TextEncoder().encode(`airlock: does this key sign for ${cert.fingerprint256}?`);
  const signature = await signer.sign(probe);
  const { family, hash } = SIGNING_ALGORITHMS[signer.algorithm];
  if (!verifiesWith(cert.publicKey, family === 'ed25519' ? null : hash, probe, signature)) {
    throw new AirlockError(
      'E_KEY_MISMATCH',
      `${what}: ${signer.description} is not the key of ${describeCertificate(cert)}`,
      {
        hint: 'give the private key that belongs to the first certificate of the chain',
      },
    );
  }
}
