// `airlock ca serve` for the tests of its clients (keyless signing), trusting test issuers
// (oidc-issuer.ts) so the tokens are real JWTs it verifies. Two ways to run it: in this process
// (CertificateAuthority + createCaHandler on loopback, for unit tests that want to see what it
// issued), or as the command itself after `ca init` (for end-to-end tests).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/authority.ts';
import type { IssuerType } from '../../src/ca/identity.ts';
import { createTokenVerifier, issuerConfiguration, loadOidcIssuers } from '../../src/ca/oidc/index.ts';
import { RateLimiter } from '../../src/ca/rate-limit.ts';
import type { AuditRecord } from '../../src/recorder.ts';
import { createCaHandler } from '../../src/server/ca-server.ts';
import { closeServer, listenOn } from '../../src/server/http-io.ts';
import { makeTestCa, type TestCa } from './airlock-ca.ts';
import { runCli } from './cli.ts';
import { type RunningServer, spawnServer } from './log-server.ts';
import type { TestIssuer } from './oidc-issuer.ts';

/** An issuer the CA takes tokens from, as `--oidc-issuer URL=JWKS,type=T[,audience=A]` names it. */
export interface TrustedIssuer {
  readonly issuer: TestIssuer;
  readonly type: IssuerType;
  readonly audience?: string;
}

export interface InProcessCa {
  readonly url: string;
  /** The CA's key and chain (a root only). */
  readonly ca: TestCa;
  /** The audit records of the certificates issued so far, in order. */
  readonly issued: readonly AuditRecord[];
  /** POSTs to /api/v2/signingCert received so far, issued or refused. */
  signingCertRequests(): number;
  stop(): Promise<void>;
}

/** The CA in this process over HTTP on loopback; `perHour` certificates per identity (0: no limit). */
export async function startInProcessCa(
  issuers: readonly TrustedIssuer[],
  options: { perHour?: number } = {},
): Promise<InProcessCa> {
  const ca = await makeTestCa();
  const jwks = new Map(issuers.map(({ issuer }) => [issuer.url, JSON.stringify(issuer.jwks)]));
  const oidc = await loadOidcIssuers(
    issuers.map(({ issuer, type, audience = 'sigstore' }) => ({
      url: issuer.url,
      jwksPath: issuer.url,
      type,
      audience,
    })),
    async (path) => Buffer.from(jwks.get(path) ?? ''),
  );
  const issued: AuditRecord[] = [];
  const authority = new CertificateAuthority({
    ca,
    verifier: createTokenVerifier({ issuers: oidc }),
    now: () => new Date(),
    random: (n) => randomBytes(n),
    validitySeconds: 600,
    rateLimit: new RateLimiter({ perWindow: options.perHour ?? 0, windowMs: 3600e3 }),
    record: async (record) => {
      issued.push(record);
    },
  });
  const handler = createCaHandler({ authority, configuration: issuerConfiguration(oidc), log: () => undefined });
  let requests = 0;
  const counted = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/api/v2/signingCert') requests += 1;
    handler(req, res);
  };
  const { server, url } = await listenOn(counted, '127.0.0.1', 0);
  return { url, ca, issued, signingCertRequests: () => requests, stop: () => closeServer(server) };
}

export interface CaServe extends RunningServer {
  /** The CA's chain as `ca init` wrote it (PEM, a self-signed root). */
  readonly chainPem: string;
  /** POSTs to /api/v2/signingCert it answered so far, issued or refused (its own /metrics count). */
  signingCertRequests(): Promise<number>;
}

/**
 * `airlock ca init` then `airlock ca serve` on a loopback port as a child process, its files and
 * audit trail (`ca-home`) under `dir`; `extra` flags go to `ca serve`.
 */
export async function startCaServe(
  dir: string,
  issuers: readonly TrustedIssuer[],
  extra: readonly string[] = [],
): Promise<CaServe> {
  const env = { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'ca-home') } };
  const key = join(dir, 'ca.key');
  const chain = join(dir, 'ca.pem');
  await cliOk(['key', 'generate', '--output-key-prefix', join(dir, 'ca')], env);
  await cliOk(['ca', 'init', '--key', key, '--subject', 'O=airlock test,CN=airlock test CA', '-o', chain], env);
  const issuerFlags: string[] = [];
  for (const [i, { issuer, type, audience }] of issuers.entries()) {
    const jwks = join(dir, `issuer-${i}.jwks.json`);
    await writeFile(jwks, JSON.stringify(issuer.jwks));
    issuerFlags.push('--oidc-issuer', `${issuer.url}=${jwks},type=${type}${audience ? `,audience=${audience}` : ''}`);
  }
  const args = ['ca', 'serve', '--key', key, '--chain', chain, '--listen', '127.0.0.1:0', ...issuerFlags, ...extra];
  const server = await spawnServer(args, env.env).ready;
  return {
    ...server,
    chainPem: await readFile(chain, 'utf8'),
    signingCertRequests: async () => {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const counts = metrics.matchAll(/^airlock_http_requests_total\{route="signingCert"[^}]*\} (\d+)$/gm);
      return [...counts].reduce((n, m) => n + Number(m[1]), 0);
    },
  };
}

async function cliOk(args: string[], options: Parameters<typeof runCli>[1]): Promise<void> {
  const r = await runCli(args, options);
  if (r.code !== 0) throw new Error(`airlock ${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
}
