// The chain file `airlock ca init` writes and `airlock ca serve --chain` reads: the new CA certificate
// first, then the chain of its issuer up to the root. The issuer's chain is checked before it signs,
// and the result is checked as the server will check it, so a chain written is a chain that serves.
import { X509Certificate } from 'node:crypto';
import type { Signer } from '../crypto/signer.ts';
import { AirlockError } from '../errors.ts';
import { chainPemOf, checkCaChain } from './ca-chain.ts';
import { type CaIssuer, createCaCertificate } from './ca-certificate.ts';

/** A root lasts ten years and an intermediate five, unless the issuer ends sooner. */
export const DEFAULT_VALIDITY_DAYS = { root: 3650, intermediate: 1825 } as const;

export interface CaChainOptions {
  readonly signer: Signer;
  readonly subject: string;
  /** Default: DEFAULT_VALIDITY_DAYS, an intermediate's cut to the whole days its issuer has left. */
  readonly validityDays?: number;
  readonly now: Date;
  readonly serial: Uint8Array;
  /** The issuing CA's key and chain (issuing CA first … root last); absent for a root. */
  readonly issuer?: { readonly signer: Signer; readonly chain: readonly X509Certificate[] };
}

export interface CaChain {
  readonly certificate: X509Certificate;
  /** The new certificate, then the issuer's chain: PEM blocks, each ending in a newline. */
  readonly pem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function validityDays(options: CaChainOptions, issuer: X509Certificate | undefined): number {
  if (options.validityDays !== undefined) return options.validityDays;
  if (!issuer) return DEFAULT_VALIDITY_DAYS.root;
  const left = Math.floor((issuer.validToDate.getTime() - options.now.getTime()) / DAY_MS);
  return Math.min(DEFAULT_VALIDITY_DAYS.intermediate, left);
}

function issuerOf(options: CaChainOptions): CaIssuer | undefined {
  if (!options.issuer) return undefined;
  const [certificate] = options.issuer.chain;
  if (!certificate) throw new AirlockError('E_USAGE', 'the issuer chain holds no certificate');
  checkCaChain(options.issuer.chain, options.now, 'the issuer chain', 1);
  return { signer: options.issuer.signer, certificate };
}

/** Creates a root, or an intermediate under `options.issuer`, and the chain file's text. */
export async function createCaChain(options: CaChainOptions): Promise<CaChain> {
  const issuer = issuerOf(options);
  const pem = await createCaCertificate({
    signer: options.signer,
    subject: options.subject,
    validityDays: validityDays(options, issuer?.certificate),
    now: options.now,
    serial: options.serial,
    ...(issuer ? { issuer } : {}),
  });
  const issuerChain = options.issuer?.chain ?? [];
  const certificate = new X509Certificate(pem);
  const chain = [certificate, ...issuerChain];
  checkCaChain(chain, options.now, 'the new CA chain');
  return { certificate, pem: chainPemOf(chain).join('') };
}
