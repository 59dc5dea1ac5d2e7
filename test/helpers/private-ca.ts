// A private "keyless" PKI for tests, made with the openssl CLI: a root CA and short-lived leaf
// certificates carrying a SAN and Fulcio's OIDC-issuer extension (1.3.6.1.4.1.57264.1.8), as a
// private Fulcio would issue. Lets tests build keyless bundles without any Sigstore service.
import { execFile } from 'node:child_process';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Leaf {
  readonly certDer: Buffer;
  readonly certPem: string;
  readonly privateKey: KeyObject;
}

export interface PrivateCa {
  readonly rootDer: Buffer;
  readonly rootPem: string;
  /** `keyEncoding` other than `named` makes a key Go's x509 package refuses (OpenSSL takes it). */
  issueLeaf(options: {
    san: string;
    issuer: string;
    days?: number;
    keyEncoding?: 'named' | 'explicit' | 'compressed';
  }): Promise<Leaf>;
  cleanup(): Promise<void>;
}

type LeafOptions = Parameters<PrivateCa['issueLeaf']>[0];

export async function createPrivateCa(name = 'airlock test CA'): Promise<PrivateCa> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-ca-'));
  const root = await makeRoot(dir, name);
  const rootPem = await readFile(root.crt, 'utf8');
  let serial = 1;
  return {
    rootPem,
    rootDer: Buffer.from(new X509Certificate(rootPem).raw),
    issueLeaf: (options) => issueLeaf(dir, root, serial++, options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

interface RootFiles {
  readonly key: string;
  readonly crt: string;
}

async function makeRoot(dir: string, name: string): Promise<RootFiles> {
  const key = join(dir, 'root.key');
  const crt = join(dir, 'root.crt');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-out',
    crt,
    '-days',
    '30',
    '-subj',
    `/O=airlock test/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-addext',
    'subjectKeyIdentifier=hash',
  ]);
  return { key, crt };
}

async function issueLeaf(dir: string, root: RootFiles, n: number, options: LeafOptions): Promise<Leaf> {
  const { san, issuer, days = 1, keyEncoding = 'named' } = options;
  const key = join(dir, `leaf${n}.key`);
  await makeLeafKey(key, keyEncoding);
  const certPem = await signLeaf(dir, root, n, { key, san, issuer, days });
  return {
    certPem,
    certDer: Buffer.from(new X509Certificate(certPem).raw),
    privateKey: createPrivateKey(await readFile(key, 'utf8')),
  };
}

async function signLeaf(
  dir: string,
  root: RootFiles,
  n: number,
  options: { key: string; san: string; issuer: string; days: number },
): Promise<string> {
  const { key, san, issuer, days } = options;
  const csr = join(dir, `leaf${n}.csr`);
  const crt = join(dir, `leaf${n}.crt`);
  const ext = join(dir, `leaf${n}.ext`);
  await writeFile(ext, leafExtensions(san, issuer));
  await run('openssl', ['req', '-new', '-key', key, '-out', csr, '-subj', '/O=airlock test']);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    root.crt,
    '-CAkey',
    root.key,
    '-set_serial',
    String(1000 + n),
    '-days',
    String(days),
    '-extfile',
    ext,
    '-out',
    crt,
  ]);
  return readFile(crt, 'utf8');
}

/** A Fulcio-like leaf's extensions: code signing, the SAN, and the OIDC issuer (1.3.6.1.4.1.57264.1.8). */
function leafExtensions(san: string, issuer: string): string {
  const sanValue = san.includes('@') && !san.includes('://') ? `email:${san}` : `URI:${san}`;
  return [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=codeSigning',
    'authorityKeyIdentifier=keyid',
    'subjectKeyIdentifier=hash',
    `subjectAltName=critical,${sanValue}`,
    `1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${issuer}`,
  ].join('\n');
}

async function makeLeafKey(key: string, keyEncoding: NonNullable<LeafOptions['keyEncoding']>): Promise<void> {
  await run('openssl', [
    'ecparam',
    '-name',
    'prime256v1',
    ...(keyEncoding === 'explicit' ? ['-param_enc', 'explicit'] : []),
    '-genkey',
    '-noout',
    '-out',
    key,
  ]);
  // ecparam's -conv_form does not reach the certificate; a key converted by `openssl ec` does.
  if (keyEncoding === 'compressed') await run('openssl', ['ec', '-in', key, '-conv_form', 'compressed', '-out', key]);
}
