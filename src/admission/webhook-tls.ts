// The webhook's TLS material for `airlock admission manifests --generate-tls DIR`: a one-purpose CA
// (ECDSA P-256, one year) and a serving certificate for the webhook's Service names signed by it,
// made by the openssl CLI — never hand-built X.509. Private keys are written by openssl itself into a
// 0700 working folder inside DIR and never appear on a command line. The CA's key is deleted once it
// has signed: the API server needs only the CA certificate (caBundle), and a CA key that no longer
// exists cannot sign a second certificate the webhook's clients would trust. Renewing is making all
// three again and re-applying the manifests.
import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError, fromFsError } from '../errors.ts';
import { pathExists } from '../files/atomic-write.ts';
import { runProgram } from '../tools/external.ts';
import type { WebhookTlsMaterial } from './manifests.ts';

export const TLS_FILES = { caCert: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

export interface WebhookTlsOptions {
  /** The openssl executable (found on PATH by the caller). */
  readonly openssl: string;
  /** Where ca.crt, tls.crt and tls.key are written; made (0700) if absent. */
  readonly dir: string;
  readonly service: string;
  readonly namespace: string;
  /** Replace existing files; otherwise E_OUTPUT_EXISTS before anything is made. */
  readonly overwrite: boolean;
  /** Validity of both certificates, in days (default 365). */
  readonly days?: number;
  /** Source of the certificates' serial numbers (default node:crypto randomBytes). */
  readonly random?: (bytes: number) => Uint8Array;
}

export interface WebhookTls extends WebhookTlsMaterial {
  readonly paths: { readonly caCert: string; readonly cert: string; readonly key: string };
  readonly dnsNames: readonly string[];
  readonly notAfter: string;
}

/** The names the API server may use for a Service: it calls `<service>.<namespace>.svc`. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

function opensslConfig(dnsNames: readonly string[]): string {
  return [
    '[ req ]',
    'distinguished_name = dn',
    'prompt = no',
    '[ dn ]',
    'CN = airlock-admission',
    '[ v3_ca ]',
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '[ v3_server ]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${dnsNames.map((n) => `DNS:${n}`).join(', ')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    '',
  ].join('\n');
}

/** A positive 128-bit serial number as openssl's -set_serial takes it. */
function serial(random: (bytes: number) => Uint8Array): string {
  const bytes = Uint8Array.from(random(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40; // positive, and never shorter than 16 bytes
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

async function refuseExisting(dir: string): Promise<void> {
  for (const name of Object.values(TLS_FILES)) {
    const path = join(dir, name);
    if (await pathExists(path))
      throw new AirlockError('E_OUTPUT_EXISTS', `${path} already exists`, {
        hint: 'pass --force to make new TLS material over it, or choose another --generate-tls folder',
      });
  }
}

/** Runs the openssl steps in `work`: CA key and certificate, serving key, request, certificate. */
async function makeWithOpenssl(o: WebhookTlsOptions, work: string, dnsNames: readonly string[]): Promise<void> {
  const config = join(work, 'openssl.cnf');
  await writeFile(config, opensslConfig(dnsNames), { mode: 0o600 });
  const days = String(o.days ?? 365);
  const random = o.random ?? randomBytes;
  const run = (args: string[]) => runProgram(o.openssl, args, { cwd: work, env: { OPENSSL_CONF: config } });
  // Fixed words split from one string; values (names, serials, paths) as their own elements.
  const words = (text: string) => text.split(' ');
  const ecKey = (out: string) =>
    run([
      ...words('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out'),
      out,
    ]);
  await ecKey('ca.key');
  await ecKey('tls.key');
  const caSubject = `/CN=${o.service}.${o.namespace} webhook CA`;
  const caFlags = ['-days', days, '-set_serial', serial(random), '-subj', caSubject];
  await run([
    'req',
    '-config',
    config,
    ...words('-new -x509 -key ca.key -sha256 -extensions v3_ca -out ca.crt'),
    ...caFlags,
  ]);
  const subject = `/CN=${o.service}.${o.namespace}.svc`;
  await run(['req', '-config', config, ...words('-new -key tls.key -sha256 -out tls.csr -subj'), subject]);
  const signFlags = ['-days', days, '-set_serial', serial(random), '-extfile', config];
  await run([
    ...words('x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -sha256 -extensions v3_server -out tls.crt'),
    ...signFlags,
  ]);
}

/** Holds openssl's output to what was asked: chain, names, key pair; E_UNAVAILABLE if it is not. */
function checkMade(caPem: string, certPem: string, keyPem: string, dnsNames: readonly string[]): X509Certificate {
  const fail = (what: string) =>
    new AirlockError('E_UNAVAILABLE', `openssl made a serving certificate that ${what}`, {
      hint: 'check the openssl found on PATH (airlock doctor)',
    });
  const ca = new X509Certificate(caPem);
  const cert = new X509Certificate(certPem);
  if (!ca.ca || !ca.verify(ca.publicKey)) throw fail('has no self-signed CA certificate');
  if (!cert.verify(ca.publicKey) || !cert.checkIssued(ca)) throw fail('does not verify against its CA');
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw fail('does not match its key');
  for (const name of dnsNames) if (cert.checkHost(name) !== name) throw fail(`does not name ${name}`);
  return cert;
}

/** Makes ca.crt, tls.crt and tls.key (0600) in `o.dir` and returns them as PEM. */
export async function generateWebhookTls(o: WebhookTlsOptions): Promise<WebhookTls> {
  try {
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromFsError(err, o.dir, 'create');
  }
  if (!o.overwrite) await refuseExisting(o.dir);
  const dnsNames = serviceDnsNames(o.service, o.namespace);
  let work: string;
  try {
    work = await mkdtemp(join(o.dir, '.airlock-tls-'));
  } catch (err) {
    throw fromFsError(err, o.dir, 'write in');
  }
  try {
    await makeWithOpenssl(o, work, dnsNames);
    const caCert = await readFile(join(work, 'ca.crt'), 'utf8');
    const cert = await readFile(join(work, 'tls.crt'), 'utf8');
    const key = await readFile(join(work, 'tls.key'), 'utf8');
    const made = checkMade(caCert, cert, key, dnsNames);
    await chmod(join(work, 'tls.key'), 0o600);
    await chmod(join(work, 'ca.crt'), 0o644);
    await chmod(join(work, 'tls.crt'), 0o644);
    const paths = {
      caCert: join(o.dir, TLS_FILES.caCert),
      cert: join(o.dir, TLS_FILES.cert),
      key: join(o.dir, TLS_FILES.key),
    };
    await rename(join(work, 'tls.key'), paths.key);
    await rename(join(work, 'tls.crt'), paths.cert);
    await rename(join(work, 'ca.crt'), paths.caCert);
    return { caCert, cert, key, paths, dnsNames, notAfter: new Date(made.validTo).toISOString() };
  } catch (err) {
    throw err instanceof AirlockError ? err : fromFsError(err, o.dir, 'write in');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
