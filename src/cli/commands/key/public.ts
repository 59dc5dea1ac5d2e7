// `airlock key public` (cosign public-key): the public key PEM of any key reference.
import { loadPublicKey } from '../../../crypto/key-ref.ts';
import { keyFingerprint, publicKeyPem } from '../../../crypto/keys.ts';
import { AirlockError } from '../../../errors.ts';
import { writeFileAtomic } from '../../../files/atomic-write.ts';
import type { Command } from '../../command.ts';
import { KEY_FLAGS, keyContext } from '../../options/key.ts';

export const keyPublicCommand: Command = {
  name: 'key public',
  aliases: ['public-key'],
  summary: 'Print the public key PEM of any key reference',
  usage: '--key REF [--outfile FILE]',
  flags: {
    ...KEY_FLAGS,
    outfile: { type: 'string', value: 'FILE', description: "Write the PEM to FILE instead of stdout (cosign's flag)" },
    force: { type: 'boolean', description: 'Overwrite --outfile FILE if it exists' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    { command: 'airlock key public --key cosign.key > cosign.pub', description: 'From an encrypted key file' },
    {
      command: "airlock key public --key 'pkcs11:token=signing;object=release?pin-source=/run/pin'",
      description: 'From an HSM',
    },
    {
      command: 'airlock public-key --key cosign.key --outfile cosign.pub',
      description: "cosign's name and flags for the same command",
    },
  ],
  async run(ctx) {
    const ref = ctx.flags.string('key');
    if (!ref) throw new AirlockError('E_USAGE', 'airlock key public needs --key REF');
    const key = await loadPublicKey(ref, keyContext(ctx, { passwordFile: ctx.flags.string('password-file') }));
    const pem = publicKeyPem(key);
    const outfile = ctx.flags.string('outfile');
    if (outfile) {
      await writeFileAtomic(outfile, pem, { overwrite: ctx.flags.bool('force') });
      ctx.out.info(`Public key written to ${outfile}`);
    } else ctx.out.data(pem);
    return { json: { publicKey: pem, fingerprint: keyFingerprint(key), type: key.asymmetricKeyType } };
  },
};
