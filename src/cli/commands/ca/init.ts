// `airlock ca init`: the CA certificate `airlock ca serve` issues under — a self-signed root, or an
// intermediate under an existing CA — written with its chain as the file `ca serve --chain` reads.
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createCaChain, DEFAULT_VALIDITY_DAYS } from '../../../ca/ca-chain-file.ts';
import { parseCertificateChain } from '../../../ca/ca-chain.ts';
import { loadSigner } from '../../../crypto/key-ref.ts';
import type { Signer } from '../../../crypto/signer.ts';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import { readInputText } from '../../../files/read-file.ts';
import type { Command, CommandContext } from '../../command.ts';
import { KEY_FLAGS, keyContext, keySigner } from '../../options/key.ts';
import { outFileFlags } from '../../options/out-file.ts';

const OUT_FLAGS = outFileFlags('Where to write the chain: the new certificate first, then the issuer chain');

interface InitArgs {
  readonly keyRef: string;
  readonly subject: string;
  readonly out: string;
  readonly validityDays?: number;
  readonly issuer?: { readonly chainPath: string; readonly keyRef: string };
}

function required(ctx: CommandContext, name: string): string {
  const value = ctx.flags.string(name);
  if (value === undefined || value === '') throw new AirlockError('E_USAGE', `airlock ca init needs --${name}`);
  return value;
}

/** The flags, checked and mapped before any key is opened. */
export function initArgs(ctx: CommandContext): InitArgs {
  const issuerCert = ctx.flags.string('issuer-cert');
  const issuerKey = ctx.flags.string('issuer-key');
  if ((issuerCert === undefined) !== (issuerKey === undefined)) {
    throw new AirlockError('E_USAGE', '--issuer-cert and --issuer-key go together', {
      hint: 'give both for an intermediate (the issuing CA chain and its key), neither for a root',
    });
  }
  const validity = ctx.flags.has('validity') ? ctx.flags.int('validity', 0, 1, 36_500) : undefined;
  return {
    keyRef: required(ctx, 'key'),
    subject: required(ctx, 'subject'),
    out: required(ctx, 'out'),
    ...(validity !== undefined ? { validityDays: validity } : {}),
    ...(issuerCert && issuerKey ? { issuer: { chainPath: resolve(ctx.cwd, issuerCert), keyRef: issuerKey } } : {}),
  };
}

async function openIssuer(ctx: CommandContext, issuer: NonNullable<InitArgs['issuer']>) {
  const chain = parseCertificateChain(await readInputText(issuer.chainPath, 'an issuer chain'), '--issuer-cert');
  return { chain, signer: await loadSigner(issuer.keyRef, keyContext(ctx)) };
}

async function runInit(ctx: CommandContext) {
  const args = initArgs(ctx);
  const opened: Signer[] = [];
  try {
    const issuer = args.issuer && (await openIssuer(ctx, args.issuer));
    if (issuer) opened.push(issuer.signer);
    const signer = await keySigner(ctx, args.keyRef);
    opened.push(signer);
    const now = ctx.now();
    const created = await createCaChain({
      signer,
      subject: args.subject,
      now,
      serial: randomBytes(20),
      ...(args.validityDays !== undefined ? { validityDays: args.validityDays } : {}),
      ...(issuer ? { issuer } : {}),
    });
    await writeFileAtomic(resolve(ctx.cwd, args.out), created.pem, { overwrite: ctx.flags.bool('force') });
    return report(ctx, args, created);
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
}

function report(ctx: CommandContext, args: InitArgs, created: Awaited<ReturnType<typeof createCaChain>>) {
  const cert = created.certificate;
  const summary = {
    out: args.out,
    kind: args.issuer ? 'intermediate' : 'root',
    subject: cert.subject.replace(/\n/g, ','),
    issuer: cert.issuer.replace(/\n/g, ','),
    serial: cert.serialNumber.toLowerCase(),
    fingerprint: `sha256:${createHash('sha256').update(cert.raw).digest('hex')}`,
    notBefore: cert.validFromDate.toISOString(),
    notAfter: cert.validToDate.toISOString(),
  };
  ctx.audit.subject(args.out, summary.fingerprint);
  ctx.audit.detail('certificate', summary);
  ctx.out.info(`CA certificate (${summary.kind}) ${summary.subject} written to ${args.out} with its chain`);
  ctx.out.info(`Fingerprint: ${summary.fingerprint}`);
  ctx.out.info(`Valid ${summary.notBefore} to ${summary.notAfter}`);
  return { json: summary };
}

export const caInitCommand: Command = {
  name: 'ca init',
  audit: 'ca.init',
  summary: 'Create the CA certificate `airlock ca serve` issues under (a root, or an intermediate)',
  usage: '--key REF --subject "O=…,CN=…" -o FILE [--validity DAYS] [--issuer-cert FILE --issuer-key REF] [--force]',
  description:
    'Without --issuer-cert: a self-signed root for --key. With it: an intermediate for --key, signed by\n' +
    '--issuer-key, whose chain --issuer-cert holds (issuing CA first, root last; a ca-chain.pem this\n' +
    'command wrote). FILE gets the new certificate followed by the issuer chain, the form `airlock ca\n' +
    'serve --chain` and `airlock trust create --fulcio certificate-chain=` take. Subject attributes (O,\n' +
    'OU, CN, C, L, ST) are encoded in the order written. Keys are any key reference; keep a root key in an\n' +
    'HSM (pkcs11:) and offline, and serve from an intermediate. The chain is checked as Sigstore verifiers\n' +
    'check it (CA, keyCertSign, codeSigning or no EKU, SKI/AKI) before it is written (atomically; an\n' +
    `existing FILE only with --force). Validity: ${DEFAULT_VALIDITY_DAYS.root} days for a root, ` +
    `${DEFAULT_VALIDITY_DAYS.intermediate} for an intermediate\n(at most what its issuer has left).`,
  flags: {
    key: { ...KEY_FLAGS.key, description: "The new CA's key: file path, env://VAR, or pkcs11: URI" },
    'password-file': KEY_FLAGS['password-file'],
    subject: { type: 'string', value: 'DN', description: 'The CA\'s subject, e.g. "O=Example,CN=Example CA"' },
    out: { ...OUT_FLAGS.out, short: 'o' },
    force: { type: 'boolean', description: 'Overwrite FILE if it exists' },
    validity: { type: 'string', value: 'DAYS', description: 'Days the certificate is valid from now' },
    'issuer-cert': { type: 'string', value: 'FILE', description: 'Chain of the CA that signs an intermediate' },
    'issuer-key': { type: 'string', value: 'REF', description: "That CA's key (file, env://VAR or pkcs11: URI)" },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    {
      command:
        'airlock ca init --key "pkcs11:token=ca;object=root" --subject "O=Example,CN=Example Root CA" ' +
        '-o root-chain.pem',
      description: 'A root whose key stays in the HSM',
    },
    {
      command:
        'airlock ca init --key ca.key --subject "O=Example,CN=Example Signing CA" --validity 365 \\\n' +
        '    --issuer-cert root-chain.pem --issuer-key "pkcs11:token=ca;object=root" -o ca-chain.pem',
      description: 'An intermediate for `airlock ca serve --chain ca-chain.pem`',
    },
  ],
  run: runInit,
};
