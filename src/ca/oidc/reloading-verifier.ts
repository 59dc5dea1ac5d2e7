// Token verification whose keys follow the JWKS files: an IdP (or a cluster's service-account issuer)
// rotates its signing keys, the operator exports the JWKS again, and `ca serve` picks the new keys up on
// its next reload without a restart. A file that does not load leaves the keys in use as they were,
// so a half-written export never turns the CA off (the caller logs why).
import { createHash } from 'node:crypto';
import type { Principal } from '../identity.ts';
import { type BoundedFileReader, loadOidcIssuers, type OidcIssuer } from './jwks.ts';
import type { OidcIssuerSpec } from './issuer-spec.ts';
import { createTokenVerifier, type TokenVerifier } from './token-verifier.ts';

export type ReloadOutcome = 'unchanged' | 'reloaded';

export class ReloadingTokenVerifier implements TokenVerifier {
  readonly #specs: readonly OidcIssuerSpec[];
  readonly #readFile: BoundedFileReader;
  readonly #maxSkewSeconds: number | undefined;
  #issuers: readonly OidcIssuer[];
  #current: TokenVerifier;
  #fingerprint: string;

  private constructor(
    specs: readonly OidcIssuerSpec[],
    readFile: BoundedFileReader,
    maxSkewSeconds: number | undefined,
    issuers: readonly OidcIssuer[],
  ) {
    this.#specs = specs;
    this.#readFile = readFile;
    this.#maxSkewSeconds = maxSkewSeconds;
    this.#issuers = issuers;
    this.#current = this.#verifierFor(issuers);
    this.#fingerprint = fingerprintOf(issuers);
  }

  /** Reads every JWKS file now; refuses to start on any that does not load. */
  static async load(
    specs: readonly OidcIssuerSpec[],
    readFile: BoundedFileReader,
    maxSkewSeconds?: number,
  ): Promise<ReloadingTokenVerifier> {
    return new ReloadingTokenVerifier(specs, readFile, maxSkewSeconds, await loadOidcIssuers(specs, readFile));
  }

  get issuers(): readonly OidcIssuer[] {
    return this.#issuers;
  }

  verify(token: string, now: Date): Promise<Principal> {
    return this.#current.verify(token, now);
  }

  /** Reads the files again; new keys take effect for the next token. Throws (keys unchanged) if one fails. */
  async reload(): Promise<ReloadOutcome> {
    const issuers = await loadOidcIssuers(this.#specs, this.#readFile);
    const fingerprint = fingerprintOf(issuers);
    if (fingerprint === this.#fingerprint) return 'unchanged';
    this.#current = this.#verifierFor(issuers);
    this.#issuers = issuers;
    this.#fingerprint = fingerprint;
    return 'reloaded';
  }

  #verifierFor(issuers: readonly OidcIssuer[]): TokenVerifier {
    return createTokenVerifier({
      issuers,
      ...(this.#maxSkewSeconds === undefined ? {} : { maxSkewSeconds: this.#maxSkewSeconds }),
    });
  }
}

function fingerprintOf(issuers: readonly OidcIssuer[]): string {
  return createHash('sha256')
    .update(JSON.stringify(issuers.map((i) => [i.url, i.jwks])))
    .digest('hex');
}
