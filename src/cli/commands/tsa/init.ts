// `airlock tsa init`: the key and certificate chain `airlock tsa serve` signs timestamps with, made by
// openssl (the TSA is openssl): a TSA certificate under a given CA, or under a root made for it alone.
import { resolve } from 'node:path';
import { AirlockError } from '../../../errors.ts';
import { pathExists, writeFileAtomic } from '../../../files/atomic-write.ts';
import { readInputText } from '../../../files/read-file.ts';
import { findExecutable } from '../../../tools/external.ts';
import { parseTsaChain, readOpensslKey, refuseNonFileKey, subjectLine } from '../../../tools/tsa-chain.ts';
import { makeTsaCertificate } from '../../../tools/tsa-certificate.ts';
import type { Command, CommandContext } from '../../command.ts';

/** The CA to issue from: its certificate (then its own issuers) and an unencrypted key file that matches. */
async function issuerOf(ctx: CommandContext) {
  const [certFile, keyFile] = [ctx.flags.string('issuer-cert'), ctx.flags.string('issuer-key')];
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined)
    throw new AirlockError('E_USAGE', '--issuer-cert and --issuer-key go together');
  const certPath = resolve(ctx.cwd, certFile);
  const chain = parseTsaChain(await readInputText(certPath, 'the issuer certificate', 1024 * 1024), certFile);
  const [issuer] = chain;
  if (!issuer?.ca)
    throw new AirlockError('E_INPUT_MALFORMED', `${certFile}: the first certificate is not a CA certificate`);
  const { path, key } = await readOpensslKey(keyFile, ctx.cwd, 'tsa init --issuer-key');
  if (!issuer.checkPrivateKey(key))
    throw new AirlockError('E_KEY_MISMATCH', `${keyFile} is not the key of ${subjectLine(issuer)}`);
  return { certPath, keyPath: path, chainPem: chain.map((c) => c.toString()) };
}

/** --key: a key file to certify, or, when the file does not exist yet, where to write a new one. */
async function keyOf(ctx: CommandContext, keyRef: string): Promise<{ path: string; exists: boolean }> {
  refuseNonFileKey(keyRef, 'tsa init');
  const path = resolve(ctx.cwd, keyRef);
  if (!(await pathExists(path))) return { path, exists: false };
  await readOpensslKey(keyRef, ctx.cwd, 'tsa init');
  return { path, exists: true };
}

async function initTsa(ctx: CommandContext) {
  const { flags, out } = ctx;
  const [keyRef, subject, output] = [flags.string('key'), flags.string('subject'), flags.string('output')];
  if (!keyRef || !subject || !output)
    throw new AirlockError('E_USAGE', 'airlock tsa init needs --key FILE, --subject "O=…,CN=…" and -o FILE');
  const outPath = resolve(ctx.cwd, output);
  const force = flags.bool('force');
  if (!force && (await pathExists(outPath)))
    throw new AirlockError('E_OUTPUT_EXISTS', `${outPath} already exists`, { hint: 'pass --force to overwrite it' });
  const key = await keyOf(ctx, keyRef);
  const issuer = await issuerOf(ctx);
  const openssl = await findExecutable('openssl', ctx.env.PATH);
  if (!openssl) throw new AirlockError('E_UNAVAILABLE', 'tsa init needs openssl, and none is on PATH');
  const made = await makeTsaCertificate({
    openssl,
    keyPath: key.exists ? key.path : undefined,
    subject,
    ...(issuer ? { issuer } : {}),
    validityDays: flags.int('validity', 3650, 1, 36500),
    now: ctx.now(),
  });
  // The key first: a chain written without the key it certifies would be of no use.
  if (made.keyPem !== undefined) await writeFileAtomic(key.path, made.keyPem, { mode: 0o600 });
  await writeFileAtomic(outPath, made.chainPem.join(''), { overwrite: force });
  if (made.keyPem !== undefined) out.info(`TSA key written to ${key.path} (0600)`);
  out.info(`TSA certificate chain written to ${outPath}: ${made.chainPem.length} certificates, TSA's first`);
  out.info(`  valid until ${made.notAfter.toISOString()}; ${issuer ? 'issued by --issuer-cert' : 'under a new root'}`);
  return {
    json: { chain: outPath, key: key.path, keyMade: made.keyPem !== undefined, notAfter: made.notAfter.toISOString() },
  };
}

export const tsaInitCommand: Command = {
  name: 'tsa init',
  summary: 'Make the key and certificate chain of an RFC 3161 timestamp authority (tsa serve)',
  usage: '--key FILE --subject "O=…,CN=…" -o FILE [--issuer-cert FILE --issuer-key FILE] [--validity DAYS]',
  description:
    'Writes the certificate chain (TSA certificate first, then its issuers) that `airlock tsa serve\n' +
    '--cert-chain` and `airlock trust create --tsa certificate-chain=` take. The TSA certificate has\n' +
    'extendedKeyUsage critical timeStamping alone (RFC 3161 §2.3) and key usage digitalSignature. With\n' +
    "--issuer-cert/--issuer-key a CA issues it; without them a root is made for it alone, and that root's\n" +
    'key is deleted once it has signed. --key is certified when the file exists; otherwise a new EC P-256\n' +
    'key is written there (0600, unencrypted: openssl ts reads it as it is).',
  flags: {
    key: { type: 'string', value: 'FILE', description: "The TSA's private key (made when the file does not exist)" },
    subject: { type: 'string', value: 'DN', description: 'The TSA\'s name, e.g. "O=Example,CN=Example TSA"' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'Where the PEM chain is written' },
    'issuer-cert': { type: 'string', value: 'FILE', description: 'Issuing CA certificate (PEM), then its issuers' },
    'issuer-key': { type: 'string', value: 'FILE', description: "The issuing CA's key (unencrypted PEM file)" },
    validity: { type: 'string', value: 'DAYS', description: 'Validity from now', default: '3650' },
    force: { type: 'boolean', description: 'Overwrite the chain file' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command: 'airlock tsa init --key tsa.key --subject "O=Example,CN=Example TSA" -o tsa-chain.pem',
      description: 'A new key, and a TSA certificate under a root made for it',
    },
    {
      command:
        'airlock tsa init --key tsa.key --subject "O=Example,CN=Example TSA" -o tsa-chain.pem ' +
        '--issuer-cert ca.pem --issuer-key ca.key --validity 825',
      description: 'Issued by your own CA',
    },
  ],
  run: initTsa,
};
