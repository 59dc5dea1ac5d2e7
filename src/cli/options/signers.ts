// The signers group of approve, inspect and import: whose signatures over a transfer manifest count,
// and how many distinct signers (people or teams, not keys) it needs — a signers file naming who holds
// which keys, or loose keys each counted as its own signer.
import type { KeyObject } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { loadPublicKey } from '../../crypto/key-ref.ts';
import { AirlockError } from '../../errors.ts';
import { readJsonFile } from '../../files/read-json.ts';
import { bounded } from '../../text.ts';
import type { Signers, TrustedSigner } from '../../transfer/signers.ts';
import type { FlagSpecs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { keyContext } from './key.ts';
import { readInputFile } from '../../files/read-file.ts';

export const SIGNER_FLAGS = {
  signers: {
    type: 'string',
    value: 'FILE',
    description: 'Signers file: named people or teams and their keys (counted once each; docs/transfer-format.md)',
  },
  keyring: {
    type: 'string',
    value: 'FILE',
    description:
      'OpenPGP public keys whose signatures over the manifest count, each key a signer (gpg --export --armor)',
  },
  'signer-key': {
    type: 'string',
    multiple: true,
    value: 'REF',
    description: 'airlock/cosign public key whose manifest bundle counts, each key a signer',
  },
  'require-signers': {
    type: 'string',
    value: 'K',
    description: 'Distinct signers (people or teams, not keys) the manifest needs; K > 1 needs --signers',
    default: '1',
  },
} as const satisfies FlagSpecs;

async function keyringFile(ctx: CommandContext, path: string) {
  const { loadKeyring } = await import('../../transfer/openpgp.ts');
  return loadKeyring(await readInputFile(path, 'an OpenPGP keyring', 16 * 1024 * 1024));
}

const relativeTo = (file: string, ref: string) =>
  isAbsolute(ref) || /^[a-z0-9]+:/i.test(ref) ? ref : resolve(dirname(file), ref);

/** --signers FILE, or loose --keyring/--signer-key keys (each its own signer, so K must be 1). */
export async function signersOption(ctx: CommandContext): Promise<Signers> {
  const required = ctx.flags.int('require-signers', 1, 1, 16);
  const file = ctx.flags.string('signers');
  const keyringPath = ctx.flags.string('keyring');
  const keyRefs = ctx.flags.strings('signer-key');
  const { looseSigners, namedSigners, parseSignersFile } = await import('../../transfer/signers.ts');
  if (file !== undefined) {
    if (keyringPath !== undefined || keyRefs.length > 0)
      throw new AirlockError(
        'E_USAGE',
        '--signers conflicts with --keyring and --signer-key: the signers file names every key',
      );
    const entries = parseSignersFile(await readJsonFile(file, 'signers file', 1024 * 1024), file);
    const kc = keyContext(ctx);
    const loaded: Array<{ name: string; pgp: TrustedSigner['pgp']; keys: KeyObject[] }> = [];
    for (const e of entries) {
      const keys = await Promise.all(e.keys.map((k) => loadPublicKey(relativeTo(file, k), kc)));
      const pgp = (
        await Promise.all(e.openpgp.map(async (p) => (await keyringFile(ctx, relativeTo(file, p))).keys))
      ).flat();
      loaded.push({ name: e.name, pgp, keys });
    }
    const signers = namedSigners(loaded, file);
    if (required > signers.length)
      throw new AirlockError(
        'E_USAGE',
        `--require-signers ${required}, but ${bounded(file)} names only ${signers.length} signer(s)`,
      );
    return { signers, required };
  }
  if (keyringPath === undefined && keyRefs.length === 0) {
    throw new AirlockError(
      'E_USAGE',
      'say whose signatures over the manifest count: --signers FILE, or --keyring FILE and/or --signer-key REF',
    );
  }
  if (required > 1) {
    throw new AirlockError(
      'E_USAGE',
      `--require-signers ${required} counts people, not keys: name who holds which key in a ` +
        `signers file (--signers FILE)`,
      {
        hint:
          'a signers file: {"apiVersion": "airlock/v1", "kind": "Signers", "signers": [{"name": ' +
          '"release-team", "keys": ["release.pub"]}, {"name": "security-team", "openpgp": ' +
          '["security.asc"]}]}',
      },
    );
  }
  const kc = keyContext(ctx);
  const keyring = keyringPath !== undefined ? await keyringFile(ctx, keyringPath) : undefined;
  const keys = await Promise.all(keyRefs.map((ref) => loadPublicKey(ref, kc)));
  return { signers: looseSigners(keyring, keys), required };
}
