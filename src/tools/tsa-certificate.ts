// A timestamp authority's certificate, made by the openssl CLI as the TSA itself is openssl (`airlock
// tsa init`): a TSA certificate (RFC 3161 §2.3: extendedKeyUsage critical timeStamping alone; key usage
// digitalSignature) issued either by a given CA or by a one-purpose root made here, whose key is
// deleted once it has signed: a root key that no longer exists cannot issue a second TSA certificate
// its verifiers would trust. `openssl ca` rather than `x509 -req`, because OpenSSL 3.0 sets an exact
// notBefore/notAfter only through `ca -startdate/-enddate`, and the root and leaf must share them.
// Keys are made by openssl inside a private (0700) working folder and never appear on a command line.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirlockError } from '../errors.ts';
import { bounded } from '../text.ts';
import { runProgram } from './external.ts';
import { checkKeyMatches, checkTimestampingCertificate, parseTsaChain, readOpensslKey } from './tsa-chain.ts';

export interface TsaCertificateOptions {
  readonly openssl: string;
  /** The TSA's key file, or undefined to make one (EC P-256), returned as `keyPem`. */
  readonly keyPath: string | undefined;
  /** "O=Example,CN=Example TSA": C, ST, L, O, OU, CN; `\,` for a comma in a value. */
  readonly subject: string;
  /** The CA to issue from; absent: a root made for this certificate alone. */
  readonly issuer?: { readonly certPath: string; readonly keyPath: string; readonly chainPem: readonly string[] };
  readonly validityDays: number;
  readonly now: Date;
  readonly random?: (n: number) => Uint8Array;
}

export interface TsaCertificate {
  /** TSA certificate first, then its issuers up to the root. */
  readonly chainPem: string[];
  /** The key made when none was given (PEM, PKCS#8). */
  readonly keyPem: string | undefined;
  readonly notAfter: Date;
}

const NAME_TYPES = new Set(['C', 'ST', 'L', 'O', 'OU', 'CN']);

/** `--subject` as openssl's -subj text ("/O=Example/CN=Example TSA"); E_USAGE when it cannot be one. */
export function opensslSubject(text: string): Array<readonly [string, string]> {
  const parts = text.split(/(?<!\\),/).map((p) => p.trim().replace(/\\,/g, ','));
  return parts.map((part) => {
    const m = /^([A-Za-z]+)\s*=\s*(.+)$/s.exec(part);
    const type = m?.[1]?.toUpperCase() ?? '';
    const value = m?.[2] ?? '';
    if (!NAME_TYPES.has(type) || /\p{Cc}/u.test(value))
      throw new AirlockError('E_USAGE', `--subject: '${bounded(part, 80)}' is not TYPE=VALUE`, {
        hint: 'e.g. --subject "O=Example,CN=Example TSA" (types C, ST, L, O, OU, CN; \\, for a comma)',
      });
    return [type, value] as const;
  });
}

const subj = (rdns: ReadonlyArray<readonly [string, string]>) =>
  rdns.map(([t, v]) => `/${t}=${v.replace(/[\\/]/g, '\\$&')}`).join('');

/** The made root's name: the TSA's with " root" after its common name. */
function rootSubject(rdns: ReadonlyArray<readonly [string, string]>): Array<readonly [string, string]> {
  const others = rdns.filter(([t]) => t !== 'CN');
  const cn = rdns.find(([t]) => t === 'CN')?.[1] ?? 'timestamp authority';
  return [...others, ['CN', `${cn} root`]];
}

const CONFIG = `
[ req ]
distinguished_name = req_dn
string_mask = utf8only
[ req_dn ]
[ ca ]
default_ca = tsa_ca
[ tsa_ca ]
database = ./index.txt
new_certs_dir = .
serial = ./ca.serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

/** `openssl ca` takes GeneralizedTime text: YYYYMMDDHHMMSSZ. */
const opensslTime = (date: Date) => `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

/**
 * A random positive 127-bit serial as the text of openssl's serial file (`ca`, `ts -reply`): unique
 * without shared state, within the 20 octets RFC 5280 §4.1.2.2 and RFC 3161 §2.4.2 allow.
 */
export function serialFileText(random: (n: number) => Uint8Array): string {
  const bytes = Uint8Array.from(random(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40; // positive, and always 16 bytes long
  return `${Buffer.from(bytes).toString('hex').toUpperCase()}\n`;
}

function checkWithinIssuer(issuerPem: string | undefined, start: Date, end: Date): void {
  const issuer = issuerPem === undefined ? undefined : parseTsaChain(issuerPem, 'the issuer certificate')[0];
  if (!issuer) return;
  const [from, to] = [new Date(issuer.validFrom), new Date(issuer.validTo)];
  if (from > start)
    throw new AirlockError('E_USAGE', `the issuer certificate is valid only from ${from.toISOString()}`);
  if (to < end)
    throw new AirlockError(
      'E_USAGE',
      `the TSA certificate would be valid until ${end.toISOString()}, past its issuer's ${to.toISOString()}`,
      { hint: 'give a shorter --validity, or an issuer valid for longer' },
    );
}

/** The openssl steps in `work`: the key if asked, the root if no issuer, the TSA certificate. */
async function issue(o: TsaCertificateOptions, work: string, start: Date, end: Date): Promise<void> {
  const random = o.random ?? randomBytes;
  const run = (args: string[]) => runProgram(o.openssl, args, { cwd: work, env: {} });
  const genkey = (out: string) =>
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out]);
  const request = (key: string, rdns: ReadonlyArray<readonly [string, string]>, out: string) =>
    run(['req', '-config', 'ca.cnf', '-utf8', '-new', '-key', key, '-subj', subj(rdns), '-out', out]);
  const ca = async (extra: string[]) => {
    await writeFile(join(work, 'ca.serial'), serialFileText(random));
    const dates = ['-startdate', opensslTime(start), '-enddate', opensslTime(end)];
    await run(['ca', '-batch', '-notext', '-preserveDN', '-utf8', '-config', 'ca.cnf', ...dates, ...extra]);
  };
  await writeFile(join(work, 'ca.cnf'), CONFIG);
  await writeFile(join(work, 'index.txt'), '');
  const rdns = opensslSubject(o.subject);
  const tsaKey = o.keyPath ?? 'tsa.key';
  if (!o.keyPath) await genkey('tsa.key');
  let issuer = o.issuer && { cert: o.issuer.certPath, key: o.issuer.keyPath };
  if (!issuer) {
    await genkey('root.key');
    await request('root.key', rootSubject(rdns), 'root.csr');
    await ca(['-selfsign', '-keyfile', 'root.key', '-extensions', 'v3_root', '-in', 'root.csr', '-out', 'root.pem']);
    issuer = { cert: 'root.pem', key: 'root.key' };
  }
  await request(tsaKey, rdns, 'tsa.csr');
  await ca([
    '-cert',
    issuer.cert,
    '-keyfile',
    issuer.key,
    '-extensions',
    'v3_tsa',
    '-in',
    'tsa.csr',
    '-out',
    'tsa.pem',
  ]);
}

/** Makes the TSA certificate (and key, and root, as asked) and checks what openssl made. */
export async function makeTsaCertificate(o: TsaCertificateOptions): Promise<TsaCertificate> {
  opensslSubject(o.subject); // a usage error before anything is made
  const start = new Date(Math.floor(o.now.getTime() / 1000) * 1000);
  const end = new Date(start.getTime() + o.validityDays * 86_400_000);
  checkWithinIssuer(o.issuer?.chainPem[0], start, end);
  const work = await mkdtemp(join(tmpdir(), 'airlock-tsa-init-'));
  try {
    await issue(o, work, start, end);
    const leafPem = await readFile(join(work, 'tsa.pem'), 'utf8');
    const issuers = o.issuer ? o.issuer.chainPem : [await readFile(join(work, 'root.pem'), 'utf8')];
    const chain = parseTsaChain([leafPem, ...issuers].join(''), 'the certificate chain openssl made');
    const leaf = chain[0];
    if (!leaf) throw new AirlockError('E_INTERNAL', 'openssl made no TSA certificate');
    checkTimestampingCertificate(leaf, 'the certificate openssl made');
    const keyPath = o.keyPath ?? join(work, 'tsa.key');
    checkKeyMatches(leaf, (await readOpensslKey(keyPath, work, 'tsa init')).key, 'the TSA key');
    const keyPem = o.keyPath ? undefined : await readFile(keyPath, 'utf8');
    return { chainPem: chain.map((c) => c.toString()), keyPem, notAfter: new Date(leaf.validTo) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
