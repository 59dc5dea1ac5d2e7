// A real RFC 3161 timestamp authority for tests: the server `airlock tsa serve` ships (openssl ts -reply
// behind airlock's HTTP front end, RFC 3161 §3.4), with its own throw-away PKI. Tests then exercise the
// wire protocol and the signatures exactly as the TSA airlock ships produces them, not a mock of our
// own making. In process rather than as the command (test/e2e/tsa-serve.test.ts runs that): `requests`
// must count a query before its client has the reply, which a child's log lines cannot promise. The PKI
// is `airlock tsa init`'s (makeTsaCertificate), dated validFrom: tests need certificates not yet, or no
// longer, valid.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServer, listenOn } from '../../src/server/http-io.ts';
import { OpensslTimestamper } from '../../src/server/tsa-openssl.ts';
import { createTsaHandler } from '../../src/server/tsa-server.ts';
import { makeTsaCertificate } from '../../src/tools/tsa-certificate.ts';

/** Subject of the TSA leaf, for trusted roots that name the authority. */
export const TEST_TSA_SUBJECT = { organization: 'airlock test', commonName: 'airlock test TSA' } as const;

export interface TestTsaOptions {
  /** notBefore of both certificates. Default: one hour ago. */
  readonly validFrom?: Date;
  /** Lifetime of both certificates from validFrom. Default: 30 days. */
  readonly validDays?: number;
}

export interface TestTsa {
  /** POST RFC 3161 queries here. */
  readonly url: string;
  readonly rootPem: string;
  readonly leafPem: string;
  /** [leaf, root], the order Sigstore trusted roots want. */
  readonly chainPem: string[];
  readonly certChainDer: Uint8Array[];
  /** Queries answered so far (including failed ones). */
  readonly requests: number;
  stop(): Promise<void>;
}

/** Starts the TSA on 127.0.0.1; call stop() when done (it also deletes the PKI). */
export async function startTestTsa(options: TestTsaOptions = {}): Promise<TestTsa> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-tsa-'));
  try {
    const validFrom = options.validFrom ?? new Date(Date.now() - 3_600_000);
    const made = await makeTsaCertificate({
      openssl: 'openssl',
      keyPath: undefined,
      subject: `O=${TEST_TSA_SUBJECT.organization},CN=${TEST_TSA_SUBJECT.commonName}`,
      validityDays: options.validDays ?? 30,
      now: validFrom,
    });
    const chainPem = made.chainPem;
    const [leafPem = '', rootPem = ''] = chainPem;
    const keyPath = join(dir, 'leaf.key');
    await writeFile(keyPath, made.keyPem ?? '', { mode: 0o600 });
    const timestamper = await OpensslTimestamper.open({
      openssl: 'openssl',
      keyPath,
      chainPem,
      policy: '1.2.3.4.1',
      parentDir: dir,
    });
    let requests = 0;
    // Called as each POST is answered, before its client can read the reply.
    const log = (event: Readonly<Record<string, unknown>>) => {
      if (event.method === 'POST') requests += 1;
    };
    const handler = createTsaHandler({ timestamper, chainPem, maxActive: 4, maxQueued: 64, log });
    const { server, url } = await listenOn(handler, '127.0.0.1', 0);
    return {
      url: `${url}/api/v1/timestamp`,
      rootPem,
      leafPem,
      chainPem,
      certChainDer: chainPem.map((pem) => new Uint8Array(new X509Certificate(pem).raw)),
      get requests() {
        return requests;
      },
      async stop() {
        server.closeAllConnections();
        await closeServer(server);
        await timestamper.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A trusted_root.json (as JSON) that trusts only this TSA, valid from `validFrom`. */
export function tsaTrustedRootJson(tsa: TestTsa, validFrom: Date) {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [
      {
        subject: TEST_TSA_SUBJECT,
        uri: tsa.url,
        certChain: { certificates: tsa.certChainDer.map((der) => ({ rawBytes: Buffer.from(der).toString('base64') })) },
        validFor: { start: validFrom.toISOString() },
      },
    ],
  };
}
