// `airlock ca serve`: a Fulcio-compatible CA inside the gap. Short-lived code-signing certificates for
// identities whose OIDC tokens verify offline against the JWKS files of configured issuers, signed by
// a CA key from any key reference (a file or a pkcs11: HSM), each issuance in the audit trail first.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { CertificateAuthority } from '../../../ca/authority.ts';
import { loadIssuingCa } from '../../../ca/issuing-ca.ts';
import { issuerConfiguration, parseOidcIssuerSpec, ReloadingTokenVerifier } from '../../../ca/oidc/index.ts';
import { RateLimiter } from '../../../ca/rate-limit.ts';
import { AirlockError } from '../../../errors.ts';
import { readFileBounded } from '../../../files/read-file.ts';
import { caMetrics, createCaHandler } from '../../../server/ca-server.ts';
import { isLoopbackHost } from '../../../net/loopback.ts';
import { parseDuration } from '../../../transfer/channels.ts';
import type { Command, CommandContext } from '../../command.ts';
import { keyContext } from '../../options/key.ts';
import { jsonLineLog, openListener, parseListen, tlsFiles, untilStopped } from '../../serve.ts';

const USAGE =
  'airlock ca serve needs --key REF, --chain FILE and at least one --oidc-issuer URL=JWKS_FILE[,type=…][,audience=…]';

/** Fulcio issues for 10 minutes; longer-lived "short-lived" certificates defeat the point. */
const MAX_VALIDITY_MS = 24 * 3600e3;

function validityMs(text: string | undefined): number {
  const ms = parseDuration(text ?? '10m', '--cert-validity');
  if (ms > MAX_VALIDITY_MS)
    throw new AirlockError('E_USAGE', '--cert-validity may be at most 24h', {
      hint: 'keyless certificates are meant to live minutes: the log or timestamp proves when they signed',
    });
  return ms;
}

async function startAuthority(ctx: CommandContext, keyRef: string, chain: string) {
  const { flags } = ctx;
  const specs = flags.strings('oidc-issuer');
  if (specs.length === 0) throw new AirlockError('E_USAGE', USAGE);
  const verifier = await ReloadingTokenVerifier.load(
    specs.map((spec) => parseOidcIssuerSpec(spec)),
    (path, max) => readFileBounded(resolve(ctx.cwd, path), max, 'a JWKS file'),
    flags.int('max-clock-skew', 60, 0, 600),
  );
  const ca = await loadIssuingCa(keyRef, resolve(ctx.cwd, chain), keyContext(ctx), ctx.now());
  const authority = new CertificateAuthority({
    ca,
    verifier,
    now: ctx.now,
    random: (n) => randomBytes(n),
    validitySeconds: validityMs(flags.string('cert-validity')) / 1000,
    rateLimit: new RateLimiter({
      perWindow: flags.int('rate-limit', 60, 0, 1_000_000),
      windowMs: parseDuration(flags.string('rate-window') ?? '1m', '--rate-window'),
    }),
    record: ctx.audit.record,
  });
  return { authority, verifier, ca };
}

/**
 * A client gets 15 s to send its headers (node's default is a minute) and there are at most 1,024
 * connections: a CA faces every workload of a site, and slow or idle sockets must not starve the rest.
 */
function boundConnections(server: Server): void {
  server.headersTimeout = 15_000;
  server.maxConnections = 1024;
}

/** The issuers' JWKS files read again: rotated IdP keys apply without a restart; a bad file keeps the old. */
async function reloadKeys(verifier: ReloadingTokenVerifier, log: (e: Record<string, unknown>) => void) {
  try {
    if ((await verifier.reload()) === 'reloaded') log({ msg: 'issuer keys reloaded' });
  } catch (err) {
    log({ msg: 'issuer keys did not reload; keeping those in use', level: 'error', error: (err as Error).message });
  }
}

async function serveCa(ctx: CommandContext) {
  const { flags, out } = ctx;
  const keyRef = flags.string('key');
  const chain = flags.string('chain');
  if (!keyRef || !chain) throw new AirlockError('E_USAGE', USAGE);
  const address = flags.string('listen') ?? '127.0.0.1:5555';
  const { host } = parseListen(address);
  const tls = tlsFiles(ctx);
  const log = jsonLineLog(ctx);
  // Issuance is recorded before each certificate leaves: an unusable audit trail stops us now.
  await ctx.audit.ready();
  const { authority, verifier, ca } = await startAuthority(ctx, keyRef, chain);
  const { issuers } = verifier;
  try {
    const metrics = caMetrics();
    const handler = createCaHandler({ authority, configuration: issuerConfiguration(issuers), log, metrics });
    const stopped = untilStopped();
    const listener = await openListener(handler, address, tls, log);
    const { url } = listener;
    boundConnections(listener.server);
    if (!tls && !isLoopbackHost(host)) {
      const why =
        `serving plain http on ${address}: identity tokens cross the network in the clear, and anyone who ` +
        'reads one gets certificates for its identity until it expires; give --tls-cert and --tls-key ' +
        '(or keep the CA behind a TLS-terminating proxy on loopback)';
      out.warn(why);
      log({ msg: 'plain http beyond loopback', level: 'warn' });
    }
    const subject = ca.certificate.subject.replace(/\n/g, ', ');
    log({ msg: 'serving', url, ca: subject, issuers: issuers.map((i) => i.url) });
    out.info(`CA ${subject} serving Fulcio API v2 at ${url}`);
    for (const i of issuers) out.info(`  issuer    ${i.url} (${i.type}, audience ${i.audience})`);
    const timer = setInterval(() => void reloadKeys(verifier, log), flags.int('reload-seconds', 30, 1, 86_400) * 1000);
    const signal = await stopped;
    clearInterval(timer);
    log({ msg: 'stopping', signal });
    await listener.close();
    return { json: { url, ca: subject, issuers: issuers.map((i) => i.url) } };
  } finally {
    await ca.signer.close();
  }
}

export const caServeCommand: Command = {
  name: 'ca serve',
  summary: 'Serve a Fulcio-compatible CA: short-lived signing certificates for OIDC identities, offline',
  usage:
    '--key REF --chain FILE --oidc-issuer URL=JWKS_FILE[,type=T][,audience=A]... [--listen HOST:PORT] ' +
    '[--tls-cert FILE --tls-key FILE]',
  description:
    "Fulcio's REST API v2: POST /api/v2/signingCert (an OIDC token, in the body or as a Bearer header,\n" +
    'with a public key and a proof of possession, or a CSR) answers 200 with the certificate chain, leaf\n' +
    'first; GET /api/v2/trustBundle and /api/v2/configuration; /healthz and /metrics. Tokens are verified\n' +
    'offline against each issuer\'s JWKS file: signature (RS/PS/ES/EdDSA, never "none" or HMAC), iss,\n' +
    "aud, exp, nbf and iat, then mapped to the certificate's identity as Fulcio maps the issuer type\n" +
    "(email, uri, kubernetes, github-workflow). Certificates carry Fulcio's extensions (issuer in\n" +
    '1.3.6.1.4.1.57264.1.1 and .1.8), live --cert-validity (10m), and are recorded in the audit trail\n' +
    'before they are answered. No CT log: answers carry no SCT, so verifiers need --ctlog-threshold 0.\n' +
    'Requests are logged as JSON lines on stdout. See docs/private-sigstore.md.',
  flags: {
    key: { type: 'string', value: 'REF', description: "The CA's signing key: a key file or a pkcs11: URI" },
    chain: {
      type: 'string',
      value: 'FILE',
      description: "The CA's certificate chain (PEM; the key's certificate first, root last: airlock ca init -o)",
    },
    'oidc-issuer': {
      type: 'string',
      multiple: true,
      value: 'URL=JWKS_FILE[,type=T][,audience=A][,subject-domain=D]',
      description:
        'An issuer whose tokens are accepted, with its exported keys; type email|uri|kubernetes|github-workflow',
    },
    listen: { type: 'string', value: 'HOST:PORT', description: 'Address to serve on', default: '127.0.0.1:5555' },
    'tls-cert': {
      type: 'string',
      value: 'FILE',
      description: 'Serve HTTPS with this certificate (reloaded on change)',
    },
    'tls-key': { type: 'string', value: 'FILE', description: 'The TLS private key' },
    'cert-validity': {
      type: 'string',
      value: 'DURATION',
      description: 'Lifetime of issued certificates (max 24h)',
      default: '10m',
    },
    'rate-limit': {
      type: 'string',
      value: 'N',
      description: 'Certificates one identity may get per --rate-window (0: no limit)',
      default: '60',
    },
    'rate-window': { type: 'string', value: 'DURATION', description: 'The rate limit interval', default: '1m' },
    'reload-seconds': {
      type: 'string',
      value: 'SECONDS',
      description: "How often the issuers' JWKS files are read again (rotated keys apply without a restart)",
      default: '30',
    },
    'max-clock-skew': {
      type: 'string',
      value: 'SECONDS',
      description: "Leeway for a token's nbf and iat against this clock (exp has none)",
      default: '60',
    },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command:
        'airlock ca init --key pkcs11:token=ca;object=fulcio --subject "O=Example,CN=Example CA" -o ca-chain.pem',
      description: 'A root CA whose key stays in the HSM (once)',
    },
    {
      command:
        'airlock ca serve --key "pkcs11:token=ca;object=fulcio" --chain ca-chain.pem --listen 0.0.0.0:5555 ' +
        '--tls-cert tls.crt --tls-key tls.key ' +
        '--oidc-issuer https://kubernetes.default.svc.cluster.local=sa-jwks.json,type=kubernetes',
      description: "Issue to the cluster's service accounts (kubectl get --raw /openid/v1/jwks > sa-jwks.json)",
    },
    {
      command: 'airlock sign-blob app.tar --identity-token @token --fulcio-url https://ca.internal:5555 ...',
      description: 'Sign keylessly against it',
    },
  ],
  run: serveCa,
};
