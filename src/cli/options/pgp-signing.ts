// The OpenPGP signing group of pack and approve: an OpenPGP secret key that signs the transfer manifest
// (manifest.sha256.asc), and where its passphrase comes from.
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { readInputFile } from '../../files/read-file.ts';

export const PGP_FLAGS = {
  'pgp-key': {
    type: 'string',
    value: 'FILE',
    description: 'OpenPGP secret key (e.g. gpg --export-secret-keys --armor) to sign the manifest',
  },
  'pgp-passphrase-file': {
    type: 'string',
    value: 'FILE',
    description: 'Passphrase of --pgp-key (or AIRLOCK_PGP_PASSPHRASE)',
  },
} as const satisfies FlagSpecs;

/** The --pgp-key secret key, unlocked; undefined without --pgp-key. */
export async function pgpSigningKey(ctx: CommandContext) {
  const path = ctx.flags.string('pgp-key');
  if (!path) return undefined;
  const { loadPrivateKey } = await import('../../transfer/openpgp.ts');
  const passFile = ctx.flags.string('pgp-passphrase-file');
  const passphrase = passFile
    ? (await readInputFile(passFile, 'a passphrase file', 64 * 1024)).toString('utf8').split(/\r?\n/)[0]
    : ctx.env.AIRLOCK_PGP_PASSPHRASE;
  return {
    key: await loadPrivateKey(
      (await readInputFile(path, 'an OpenPGP secret key', 1024 * 1024)).toString('utf8'),
      passphrase,
    ),
  };
}
