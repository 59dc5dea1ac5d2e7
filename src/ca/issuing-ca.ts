// Opens the CA a server issues from: its key (any key reference, pkcs11: included) and its chain file,
// checked as a whole before the first request (ca-chain.ts says what is checked and why).
import type { X509Certificate } from 'node:crypto';
import { loadSigner, type KeyContext } from '../crypto/key-ref.ts';
import { readInputText } from '../files/read-file.ts';
import { bounded } from '../text.ts';
import { chainPemOf, checkCaChain, parseCertificateChain, proveKeyMatches } from './ca-chain.ts';
import { checkIssuerParts, type IssuingCa } from './certificate.ts';
import { signatureAlgorithmOf } from './x509-parts.ts';

const MAX_CHAIN_FILE = 1024 * 1024;

/**
 * Loads the CA key `keyRef` and the chain at `chainPath` (issuing CA first, root last) and checks
 * that they belong together and that the chain is one Sigstore verifiers accept at `now`.
 */
export async function loadIssuingCa(
  keyRef: string,
  chainPath: string,
  keyCtx: KeyContext,
  now: Date,
): Promise<IssuingCa> {
  const what = `CA chain ${bounded(chainPath)}`;
  const certs = parseCertificateChain(await readInputText(chainPath, 'a CA chain', MAX_CHAIN_FILE), what);
  checkCaChain(certs, now, what);
  const certificate = certs[0] as X509Certificate;
  checkIssuerParts(certificate);
  const signer = await loadSigner(keyRef, keyCtx);
  try {
    signatureAlgorithmOf(signer);
    await proveKeyMatches(signer, certificate, what);
  } catch (err) {
    await signer.close();
    throw err;
  }
  return { signer, certificate, chainPem: chainPemOf(certs) };
}
