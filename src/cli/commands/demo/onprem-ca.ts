// The air-gapped side's own certificate authority for the demo: `airlock ca init` (a P-384 root made
// for the demo, its chain file in the work folder) and `airlock ca serve` in this process, on loopback,
// trusting the demo issuer's JWKS file and recording each issuance in the given audit trail first.
import { randomBytes, type X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { CertificateAuthority } from '../../../ca/authority.ts';
import { createCaChain } from '../../../ca/ca-chain-file.ts';
import type { IssuingCa } from '../../../ca/certificate.ts';
import { createTokenVerifier, issuerConfiguration, loadOidcIssuers } from '../../../ca/oidc/index.ts';
import { RateLimiter } from '../../../ca/rate-limit.ts';
import { generatePrivateKey } from '../../../crypto/generate-key.ts';
import { createKeyObjectSigner } from '../../../crypto/key-object-signer.ts';
import type { Recorder } from '../../../recorder.ts';
import { createCaHandler } from '../../../server/ca-server.ts';
import { closeServer, listenOn } from '../../../server/http-io.ts';

export const DEMO_CA_SUBJECT = 'O=airlock demo,CN=airlock demo CA';

export interface OnPremCaOptions {
  /** Where `ca init` writes the chain (`ca serve --chain`, `trust create --fulcio certificate-chain=`). */
  readonly chainPath: string;
  readonly issuer: { readonly url: string; readonly jwksPath: string };
  readonly now: Date;
  readonly record: Recorder;
}

export interface OnPremCa {
  readonly url: string;
  readonly certificate: X509Certificate;
  /** The CA chain's PEM, root last: what a trusted root's certificate authority holds. */
  readonly chainPem: string;
  close(): Promise<void>;
}

/** `airlock ca init --key … --subject … -o chainPath`: a self-signed root whose key stays in memory. */
async function initCa(chainPath: string, now: Date): Promise<IssuingCa & { pem: string }> {
  const signer = createKeyObjectSigner(generatePrivateKey('ecdsa-p384'), 'ecdsa-sha2-384-nistp384', 'demo CA key');
  try {
    const created = await createCaChain({ signer, subject: DEMO_CA_SUBJECT, now, serial: randomBytes(20) });
    await writeFile(chainPath, created.pem);
    return { signer, certificate: created.certificate, chainPem: [created.pem], pem: created.pem };
  } catch (err) {
    await signer.close();
    throw err;
  }
}

/** `airlock ca serve --key … --chain … --oidc-issuer URL=JWKS_FILE,type=kubernetes --listen 127.0.0.1:0`. */
async function serveCa(ca: IssuingCa, options: OnPremCaOptions): Promise<{ server: Server; url: string }> {
  const issuers = await loadOidcIssuers([
    { url: options.issuer.url, jwksPath: options.issuer.jwksPath, type: 'kubernetes', audience: 'sigstore' },
  ]);
  const authority = new CertificateAuthority({
    ca,
    verifier: createTokenVerifier({ issuers }),
    now: () => options.now,
    random: (n) => randomBytes(n),
    validitySeconds: 600,
    rateLimit: new RateLimiter({ perWindow: 60, windowMs: 60_000 }),
    record: options.record,
  });
  const handler = createCaHandler({ authority, configuration: issuerConfiguration(issuers), log: () => undefined });
  return listenOn(handler, '127.0.0.1', 0);
}

export async function startOnPremCa(options: OnPremCaOptions): Promise<OnPremCa> {
  const ca = await initCa(options.chainPath, options.now);
  let served: { server: Server; url: string };
  try {
    served = await serveCa(ca, options);
  } catch (err) {
    await ca.signer.close();
    throw err;
  }
  const { server, url } = served;
  return {
    url,
    certificate: ca.certificate,
    chainPem: ca.pem,
    async close() {
      // The signing client keeps its connection alive: cut it, or close() waits for it to idle out.
      server.closeAllConnections();
      await closeServer(server);
      await ca.signer.close();
    },
  };
}
