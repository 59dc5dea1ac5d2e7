// `airlock key generate` (cosign generate-key-pair): a key pair in cosign's encrypted format.
import { generatePrivateKey, KEY_ALGORITHMS, type KeyAlgorithm, writeKeyPair } from '../../../crypto/generate-key.ts';
import { keyFingerprint } from '../../../crypto/keys.ts';
import { AirlockError } from '../../../errors.ts';
import type { Command } from '../../command.ts';
import { passwordSource } from '../../password.ts';
import { KEY_FLAGS } from '../../options/key.ts';

export const keyGenerateCommand: Command = {
  name: 'key generate',
  aliases: ['generate-key-pair'],
  audit: 'key.generate',
  summary: "Create a key pair in cosign's format (NAME.key encrypted, NAME.pub)",
  usage: '[--output-key-prefix NAME] [--algorithm ALG] [--force]',
  description:
    'Writes NAME.key (ENCRYPTED COSIGN PRIVATE KEY: scrypt N=32768 + NaCl secretbox over PKCS#8, mode 0600)\n' +
    'and NAME.pub (SPKI PEM). cosign and containers/image read these files. The password comes from\n' +
    '--password-file, AIRLOCK_PASSWORD or COSIGN_PASSWORD (set but empty = empty password), or a prompt.',
  flags: {
    'output-key-prefix': { type: 'string', value: 'NAME', description: 'File name prefix', default: 'cosign' },
    algorithm: {
      type: 'string',
      value: 'ALG',
      description: `Key type: ${KEY_ALGORITHMS.join(', ')}`,
      default: 'ecdsa-p256',
    },
    'password-file': KEY_FLAGS['password-file'],
    force: { type: 'boolean', description: 'Overwrite existing key files' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock key generate', description: 'cosign.key + cosign.pub, prompting for a password' },
    {
      command: 'AIRLOCK_PASSWORD=... airlock key generate --output-key-prefix release',
      description: 'Non-interactive',
    },
    {
      command: 'airlock generate-key-pair --output-key-prefix release',
      description: "cosign's name for the same command",
    },
  ],
  async run(ctx) {
    const { flags, out } = ctx;
    const algorithm = flags.string('algorithm') ?? 'ecdsa-p256';
    if (!(KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new AirlockError('E_USAGE', `unknown --algorithm '${algorithm}'`, {
        hint: `use one of ${KEY_ALGORITHMS.join(', ')}`,
      });
    }
    const prefix = flags.string('output-key-prefix') ?? 'cosign';
    const password = await passwordSource(ctx.io, ctx.env, {
      passwordFile: flags.string('password-file'),
      confirm: true,
    })({
      what: `${prefix}.key`,
    });
    const files = await writeKeyPair(prefix, generatePrivateKey(algorithm as KeyAlgorithm), password, {
      force: flags.bool('force'),
    });
    out.info(`Private key written to ${files.privateKeyPath}`);
    out.info(`Public key written to ${files.publicKeyPath}`);
    const fingerprint = keyFingerprint(files.publicKey);
    out.info(`Fingerprint: ${fingerprint}`);
    ctx.audit.subject(files.publicKeyPath, fingerprint);
    ctx.audit.detail('algorithm', algorithm);
    return { json: { privateKey: files.privateKeyPath, publicKey: files.publicKeyPath, algorithm, fingerprint } };
  },
};
