// A private Sigstore as processes on loopback, as a site runs one inside the gap: `airlock ca serve`
// (a CA from `ca init`, trusting test issuers whose JWKS files it reads), `airlock log serve` (Rekor v2)
// and `airlock tsa serve` (openssl ts), and the trusted root `airlock trust create` makes of them, the
// CA's chain fetched from its /api/v2/trustBundle. For end-to-end tests of keyless signing.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CliResult, runCliProcess } from './cli.ts';
import { makeLogKey, type RunningServer, spawnServer, startLog, type TestLog } from './log-server.ts';
import type { TestIssuer } from './oidc-issuer.ts';

export interface PrivateSigstore {
  readonly ca: RunningServer;
  readonly tsa: RunningServer;
  readonly log: TestLog;
  /** The trusted root naming the CA, the log and the TSA (no CT log). */
  readonly trustedRoot: string;
  /** `airlock ARGS` with AIRLOCK_PASSWORD=pw and AIRLOCK_HOME=dir/HOME; asserted to exit 0. */
  ok(args: string[], home?: string): Promise<CliResult>;
  /** The same, whatever it exits with. */
  cli(args: string[], home?: string): Promise<CliResult>;
  /** The keyless signing flags for the token in `tokenFile`: this CA, this log (v2), this TSA. */
  keyless(tokenFile: string): string[];
  stop(): Promise<void>;
}

/** Starts the three services in `dir`, the CA trusting each issuer as `type` (kubernetes by default). */
export async function startPrivateSigstore(
  dir: string,
  issuers: ReadonlyArray<{ readonly issuer: TestIssuer; readonly type?: string }>,
): Promise<PrivateSigstore> {
  const p = (name: string) => join(dir, name);
  const cli = (args: string[], home = 'home') =>
    runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: p(home) } });
  const ok = async (args: string[], home?: string) => {
    const r = await cli(args, home);
    assert.equal(r.code, 0, `airlock ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
    return r;
  };
  await ok(['key', 'generate', '--output-key-prefix', p('ca')]);
  await ok(['ca', 'init', '--key', p('ca.key'), '--subject', 'O=airlock test,CN=airlock test CA', '-o', p('ca.pem')]);
  await ok(['tsa', 'init', '--key', p('tsa.key'), '--subject', 'O=airlock test,CN=airlock TSA', '-o', p('tsa.pem')]);
  await makeLogKey(p('log'));
  const trusted: string[] = [];
  for (const [i, { issuer, type = 'kubernetes' }] of issuers.entries()) {
    await writeFile(p(`jwks-${i}.json`), JSON.stringify(issuer.jwks));
    trusted.push('--oidc-issuer', `${issuer.url}=${p(`jwks-${i}.json`)},type=${type}`);
  }
  const caArgs = ['ca', 'serve', '--key', p('ca.key'), '--chain', p('ca.pem'), '--listen', '127.0.0.1:0', ...trusted];
  const tsaArgs = ['tsa', 'serve', '--key', p('tsa.key'), '--cert-chain', p('tsa.pem'), '--listen', '127.0.0.1:0'];
  const [ca, tsa, log] = await Promise.all([
    spawnServer(caArgs, { AIRLOCK_HOME: p('ca-home') }).ready,
    spawnServer(tsaArgs).ready,
    startLog(p('log-data'), p('log.key')),
  ]);
  const start = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await ok([
    ...['trust', 'create', '--fulcio', `url=${ca.url},start-time=${start}`],
    ...['--rekor', `url=${log.url},public-key=${p('log.pub')},start-time=${start},origin=${log.origin}`],
    ...['--tsa', `url=${tsa.url},certificate-chain=${p('tsa.pem')},start-time=${start}`],
    ...['--out', p('trusted_root.json')],
  ]);
  return {
    ca,
    tsa,
    log,
    trustedRoot: p('trusted_root.json'),
    ok,
    cli,
    keyless: (tokenFile) => [
      ...['--identity-token', `@${tokenFile}`, '--fulcio-url', ca.url],
      ...['--rekor-url', log.url, '--rekor-api-version', '2', '--tsa-url', tsa.url],
    ],
    async stop() {
      await Promise.all([ca.stop(), tsa.stop(), log.stop()]);
    },
  };
}
