// `airlock tsa serve`: an RFC 3161 timestamp authority for a private Sigstore inside the gap. With a
// Rekor v2 log (airlock log serve), which signs no entry time, a keyless signature's only trusted time
// is a timestamp, so the gap needs a TSA of its own. The signing is `openssl ts -reply`'s; this command
// checks the key and chain before it serves (RFC 3161 §2.3), fronts openssl with bounded HTTP, and
// removes its private working folder when it stops.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { readInputText } from '../../../files/read-file.ts';
import { OpensslTimestamper } from '../../../server/tsa-openssl.ts';
import { CERTCHAIN_PATH, createTsaHandler } from '../../../server/tsa-server.ts';
import { findExecutable } from '../../../tools/external.ts';
import {
  checkKeyMatches,
  checkTimestampingCertificate,
  parseTsaChain,
  readOpensslKey,
  subjectLine,
} from '../../../tools/tsa-chain.ts';
import type { Command, CommandContext } from '../../command.ts';
import { jsonLineLog, openListener, parseListen, tlsFiles, untilStopped } from '../../serve.ts';

/** Sigstore's timestamp-authority names this policy unless told otherwise; so do we. */
export const DEFAULT_TSA_POLICY = '1.3.6.1.4.1.57264.2';
const OID = /^[0-2](?:\.(?:0|[1-9]\d{0,9})){1,30}$/;

interface TsaMaterial {
  readonly keyPath: string;
  readonly chainPem: string[];
  readonly subject: string;
}

async function loadMaterial(ctx: CommandContext, keyRef: string, chainFile: string): Promise<TsaMaterial> {
  const chainPath = resolve(ctx.cwd, chainFile);
  const chain = parseTsaChain(await readInputText(chainPath, 'the TSA certificate chain', 1024 * 1024), chainFile);
  const leaf = chain[0];
  if (!leaf) throw new AirlockError('E_INTERNAL', 'a parsed chain has no certificate');
  checkTimestampingCertificate(leaf, chainFile);
  const { path, key } = await readOpensslKey(keyRef, ctx.cwd, 'tsa serve');
  checkKeyMatches(leaf, key, keyRef);
  return { keyPath: path, chainPem: chain.map((c) => c.toString()), subject: subjectLine(leaf) };
}

function policyFlag(ctx: CommandContext): string {
  const policy = ctx.flags.string('policy') ?? DEFAULT_TSA_POLICY;
  if (!OID.test(policy))
    throw new AirlockError('E_USAGE', `--policy must be an OID in dotted form, got '${policy.slice(0, 80)}'`);
  return policy;
}

async function serveTsa(ctx: CommandContext) {
  const { flags, out } = ctx;
  const keyRef = flags.string('key');
  const chainFile = flags.string('cert-chain');
  if (!keyRef || !chainFile)
    throw new AirlockError('E_USAGE', 'airlock tsa serve needs --key FILE and --cert-chain FILE');
  const address = flags.string('listen') ?? '127.0.0.1:3030';
  parseListen(address);
  const [tls, policy] = [tlsFiles(ctx), policyFlag(ctx)];
  const maxActive = flags.int('max-openssl', availableParallelism(), 1, 256);
  const material = await loadMaterial(ctx, keyRef, chainFile);
  const openssl = await findExecutable('openssl', ctx.env.PATH);
  if (!openssl)
    throw new AirlockError('E_UNAVAILABLE', 'tsa serve signs with openssl, and none is on PATH', {
      hint: 'install openssl (3.0 or later)',
    });
  const log = jsonLineLog(ctx);
  const stopped = untilStopped(); // before listening: see log serve
  const timestamper = await OpensslTimestamper.open({
    openssl,
    keyPath: material.keyPath,
    chainPem: material.chainPem,
    policy,
  });
  try {
    const handler = createTsaHandler({ timestamper, chainPem: material.chainPem, maxActive, maxQueued: 64, log });
    const listener = await openListener(handler, address, tls, log);
    const url = `${listener.url}/api/v1/timestamp`;
    log({ msg: 'serving', url, subject: material.subject, policy, openssl: maxActive });
    out.info(`TSA ${material.subject} serving RFC 3161 at ${url} (policy ${policy})`);
    out.info(`  chain     ${listener.url}${CERTCHAIN_PATH}`);
    const signal = await stopped;
    log({ msg: 'stopping', signal });
    await listener.close();
    return { json: { url, subject: material.subject, policy } };
  } finally {
    await timestamper.close();
  }
}

export const tsaServeCommand: Command = {
  name: 'tsa serve',
  summary: 'Serve an RFC 3161 timestamp authority (openssl ts) for a private Sigstore',
  usage: '--key FILE --cert-chain FILE [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--policy OID]',
  description:
    'POST an RFC 3161 TimeStampReq (application/timestamp-query) to /api/v1/timestamp (or any path) and\n' +
    'get the TimeStampResp back, signed by `openssl ts -reply` with --key. The chain file lists the TSA\n' +
    'certificate first (critical extended key usage timeStamping, RFC 3161 §2.3), then its issuers; it is\n' +
    'checked, with the key, before serving. GET /api/v1/timestamp/certchain returns the chain (for\n' +
    '`airlock trust create --tsa`); /healthz, /metrics. Requests are logged as JSON lines on stdout.\n' +
    'The key must be an unencrypted key file: openssl ts cannot use pkcs11: keys.',
  flags: {
    key: { type: 'string', value: 'FILE', description: "The TSA's private key (PEM file, unencrypted)" },
    'cert-chain': {
      type: 'string',
      value: 'FILE',
      description: 'PEM certificates: the TSA certificate first, then each issuer up to the root',
    },
    listen: { type: 'string', value: 'HOST:PORT', description: 'Address to serve on', default: '127.0.0.1:3030' },
    'tls-cert': { type: 'string', value: 'FILE', description: 'Serve HTTPS with this certificate (PEM)' },
    'tls-key': { type: 'string', value: 'FILE', description: "The HTTPS certificate's key (PEM)" },
    policy: {
      type: 'string',
      value: 'OID',
      description: 'TSA policy every timestamp names',
      default: DEFAULT_TSA_POLICY,
    },
    'max-openssl': {
      type: 'string',
      value: 'N',
      description: 'openssl processes at once (default: the number of CPUs)',
    },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'airlock tsa init --key tsa.key --subject "O=Example,CN=Example TSA" -o tsa-chain.pem',
      description: 'A TSA key and certificate chain (once)',
    },
    {
      command: 'airlock tsa serve --key tsa.key --cert-chain tsa-chain.pem --listen 0.0.0.0:3030',
      description: 'Serve it',
    },
    {
      command:
        'airlock trust create --tsa url=http://tsa.internal:3030/api/v1/timestamp,' +
        'certificate-chain=tsa-chain.pem,start-time=2026-01-01T00:00:00Z ...',
      description: 'Trust its timestamps',
    },
  ],
  run: serveTsa,
};
