// Fulcio's `GET /api/v2/trustBundle` answer (fulcio-private-ca.md §1): `{"chains":[{"certificates":
// ["<PEM>", ...]}]}`, each chain from the issuing CA (an intermediate, if any) to its root, no leaf. Read
// strictly here, as values only; fetch-trust-bundle.ts gets the bytes. A trusted root needs the chain to
// end at a self-signed root (§6: sigstore-js builds its path to one, sigstore-go takes the last certificate
// as the anchor), so a bundle that stops at an intermediate is refused here, where the cause is known.
import { X509Certificate } from 'node:crypto';
import { parseSinglePem } from '../crypto/pem.ts';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';

/** The chains a CA serves, each issuing CA first and its self-signed root last. */
export interface TrustBundle {
  readonly chains: ReadonlyArray<readonly X509Certificate[]>;
}

/** A chain or a trust bundle longer than this is not a CA's: Fulcio serves one chain of two or three. */
const MAX_CHAINS = 16;
const MAX_CHAIN_LENGTH = 8;

function malformed(where: string, message: string, cause?: unknown): AirlockError {
  return new AirlockError('E_INPUT_MALFORMED', `${where}: ${message}`, {
    hint: 'the URL must be the base of a Fulcio API v2 (airlock ca serve, or Fulcio), answering /api/v2/trustBundle',
    ...(cause === undefined ? {} : { cause }),
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readCertificate(value: unknown, where: string, chain: number, n: number): X509Certificate {
  const what = `chain ${chain} certificate ${n}`;
  if (typeof value !== 'string') throw malformed(where, `${what} is not a PEM string`);
  try {
    const block = parseSinglePem(value, what);
    if (block.type !== 'CERTIFICATE') throw new Error(`a ${bounded(block.type, 40)} PEM block, not CERTIFICATE`);
    return new X509Certificate(block.der);
  } catch (err) {
    throw malformed(where, `${what} is not a certificate: ${bounded((err as Error).message)}`, err);
  }
}

function readChain(value: unknown, where: string, chain: number): X509Certificate[] {
  const certificates = isObject(value) ? value.certificates : undefined;
  if (!Array.isArray(certificates) || certificates.length === 0)
    throw malformed(where, `chain ${chain} has no "certificates" list`);
  if (certificates.length > MAX_CHAIN_LENGTH)
    throw malformed(where, `chain ${chain} has ${certificates.length} certificates, more than ${MAX_CHAIN_LENGTH}`);
  return certificates.map((c, i) => readCertificate(c, where, chain, i + 1));
}

function checkEndsAtRoot(certs: readonly X509Certificate[], where: string, chain: number): void {
  const last = certs.at(-1) as X509Certificate;
  if (last.checkIssued(last) && last.verify(last.publicKey)) return;
  throw new AirlockError(
    'E_INPUT_MALFORMED',
    `${where}: chain ${chain} ends at ${bounded(describeCertificate(last))}, which is not a self-signed root`,
    {
      hint:
        'Sigstore verifiers need the whole chain up to the root: save the chain with its root appended ' +
        '(cat chain.pem root.pem) and give it as certificate-chain=FILE',
    },
  );
}

/** Parses a trust bundle answer; `where` (the URL) names it in every refusal. E_INPUT_MALFORMED when it is not one. */
export function parseTrustBundle(body: Uint8Array | string, where: string): TrustBundle {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw malformed(where, 'the answer is not JSON', err);
  }
  const chains = isObject(json) ? json.chains : undefined;
  if (!Array.isArray(chains) || chains.length === 0)
    throw malformed(where, 'the answer is not a trust bundle: no "chains" list');
  if (chains.length > MAX_CHAINS) throw malformed(where, `${chains.length} chains, more than ${MAX_CHAINS}`);
  const read = chains.map((c, i) => readChain(c, where, i + 1));
  read.forEach((certs, i) => checkEndsAtRoot(certs, where, i + 1));
  return { chains: read };
}

/** `CN=…, O=…` of a certificate's subject, on one line. */
export function describeCertificate(cert: X509Certificate): string {
  return cert.subject.split('\n').reverse().join(', ');
}

/**
 * The chain to trust: the only one, or the `chain` (1-based) the user picked. A CA serving several
 * (during a rotation) needs a choice, because each chain is its own authority with its own validity.
 */
export function selectChain(bundle: TrustBundle, where: string, chain?: number): readonly X509Certificate[] {
  const list = bundle.chains.map((c, i) => `${i + 1}: ${bounded(describeCertificate(c[0] as X509Certificate))}`);
  if (chain !== undefined) {
    const picked = bundle.chains[chain - 1];
    if (picked && chain >= 1) return picked;
    throw new AirlockError('E_USAGE', `${where} serves ${bundle.chains.length} chain(s); there is no chain ${chain}`, {
      hint: `the chains, by issuing CA: ${list.join('; ')}`,
    });
  }
  const [only, ...more] = bundle.chains;
  if (only && more.length === 0) return only;
  throw new AirlockError(
    'E_USAGE',
    `${where} serves ${bundle.chains.length} certificate chains (a CA rotation?): pick one with chain=N`,
    {
      hint:
        `give one --fulcio per chain, each with chain=N and its own start-time/end-time; ` +
        `the chains, by issuing CA: ${list.join('; ')}`,
    },
  );
}

/** The chain as PEM, as `certificate-chain=FILE` would hold it. */
export function chainPem(chain: readonly X509Certificate[]): string {
  return chain.map((c) => c.toString()).join('');
}
