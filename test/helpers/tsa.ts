// A real RFC 3161 timestamp authority for tests: the server `airlock tsa serve` ships (openssl ts -reply
// behind airlock's HTTP front end, RFC 3161 §3.4), with its own throw-away PKI. Tests then exercise the
// wire protocol and the signatures exactly as the TSA airlock ships produces them, not a mock of our
// own making. In process rather than as the command (test/e2e/tsa-serve.test.ts runs that): `requests`
// must count a query before its client has the reply, which a child's log lines cannot promise. The PKI
// is made here rather than by `airlock tsa init` because tests need certificates not yet, or no longer, valid.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeServer, listenOn } from '../../src/server/http-io.ts';
import { OpensslTimestamper } from '../../src/server/tsa-openssl.ts';
import { createTsaHandler } from '../../src/server/tsa-server.ts';

const run = promisify(execFile);

/** Subject of the TSA leaf, for trusted roots that name the authority. */
export const TEST_TSA_SUBJECT = { organization: 'airlock test', commonName: 'airlock test TSA' } as const;
const ROOT_SUBJECT = '/O=airlock test/CN=airlock test TSA root';
const LEAF_SUBJECT = `/O=${TEST_TSA_SUBJECT.organization}/CN=${TEST_TSA_SUBJECT.commonName}`;

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

// `openssl ca` rather than `req -x509`/`x509 -req`: OpenSSL 3.0 can set an arbitrary notBefore only
// through `ca -startdate`, and tests need certificates that are not yet / no longer valid.
const CA_CONFIG = `
[ ca ]
default_ca = test_ca

[ test_ca ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/ca.serial
default_md = sha384
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none

[ policy_any ]
organizationName = optional
commonName = supplied

[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

# RFC 3161 §2.3: the TSA certificate has exactly one, critical, extended key usage: timeStamping.
[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

/** `openssl ca` wants GeneralizedTime text: YYYYMMDDHHMMSSZ. */
function opensslTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || String(err)}`, { cause: err });
  }
}

async function makePki(dir: string, validFrom: Date, validDays: number): Promise<void> {
  await writeFile(join(dir, 'ca.cnf'), CA_CONFIG);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'ca.serial'), '1000\n');
  const dates = [
    '-startdate',
    opensslTime(validFrom),
    '-enddate',
    opensslTime(new Date(validFrom.getTime() + validDays * 86_400_000)),
  ];
  const ca = ['ca', '-batch', '-notext', '-config', 'ca.cnf', ...dates];

  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'root.key']);
  await openssl(dir, ['req', '-new', '-key', 'root.key', '-subj', ROOT_SUBJECT, '-out', 'root.csr']);
  await openssl(dir, [
    ...ca,
    '-selfsign',
    '-keyfile',
    'root.key',
    '-extensions',
    'v3_root',
    '-in',
    'root.csr',
    '-out',
    'root.pem',
  ]);

  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'leaf.key']);
  await openssl(dir, ['req', '-new', '-key', 'leaf.key', '-subj', LEAF_SUBJECT, '-out', 'leaf.csr']);
  await openssl(dir, [
    ...ca,
    '-cert',
    'root.pem',
    '-keyfile',
    'root.key',
    '-extensions',
    'v3_tsa',
    '-in',
    'leaf.csr',
    '-out',
    'leaf.pem',
  ]);
}

/** Starts the TSA on 127.0.0.1; call stop() when done (it also deletes the PKI). */
export async function startTestTsa(options: TestTsaOptions = {}): Promise<TestTsa> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-tsa-'));
  try {
    const validFrom = options.validFrom ?? new Date(Date.now() - 3_600_000);
    await makePki(dir, validFrom, options.validDays ?? 30);
    const rootPem = await readFile(join(dir, 'root.pem'), 'utf8');
    const leafPem = await readFile(join(dir, 'leaf.pem'), 'utf8');
    const chainPem = [leafPem, rootPem];
    const keyPath = join(dir, 'leaf.key');
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
